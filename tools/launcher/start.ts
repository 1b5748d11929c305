import { ChildProcess } from 'child_process';
import { randomBytes, randomUUID } from 'crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import { createInterface } from 'readline';
import { parseArgs } from 'util';
import { Infra, startInfra, stopInfra } from '../infra/infra';
import { envPort, REPO_ROOT, STATE_DIR } from '../infra/paths';
import { InfraError, isAlive, terminate, waitFor } from '../infra/proc';
import { APPS, FAST_FAILOVER, healthy, spawnApp } from './apps';

/**
 * `npm start`: local infrastructure (unless DATABASE_URL / KAFKA_BROKERS are set), then
 * the coordinator and the three sample participants, until Ctrl-C stops all it started.
 */
const LOCK = join(STATE_DIR, 'run', 'ordo.pid');
const say = (line: string) => console.log(`[ordo] ${line}`);

/** One `npm start` at a time per checkout: a second one would fight over ports and data. */
function acquireLock() {
  mkdirSync(join(STATE_DIR, 'run'), { recursive: true });
  try {
    writeFileSync(LOCK, String(process.pid), { flag: 'wx' });
  } catch {
    const owner = Number(readFileSync(LOCK, 'utf8'));
    if (owner && owner !== process.pid && isAlive(owner)) {
      throw new InfraError(`Ordo is already running from this folder (pid ${owner}); stop it with Ctrl-C in its terminal first`);
    }
    writeFileSync(LOCK, String(process.pid));
  }
}

function prefixOutput(name: string, child: ChildProcess) {
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (line) => console.log(`[${name}] ${line}`));
  }
}

/**
 * `npm start -- --instances 2`: each sample participant runs that many instances, sharing
 * its command topic's partitions (instance k serves HTTP on its port + 10·(k−1)), to see
 * work move when one is stopped. The coordinator runs once.
 */
function participantInstances(): number {
  const { values } = parseArgs({ options: { instances: { type: 'string', default: '1' } } });
  const count = Number(values.instances);
  if (!Number.isInteger(count) || count < 1 || count > 4) throw new InfraError(`--instances is 1 to 4, not "${values.instances}"`);
  return count;
}

/** The sample definitions, one per protocol, with a transaction the demo seed data can serve. */
const SAMPLES = [
  {
    file: 'apps/order/place-order.saga.json',
    what: 'Place an order (saga)',
    input: { customer: 'ada', sku: 'SKU-1', qty: 1, accountId: 'acc-ada', amount: 1999 },
  },
  { file: 'apps/payment/transfer.tcc.json', what: 'Transfer money (TCC)', input: { from: 'acc-ada', to: 'acc-bob', amount: 500 } },
  {
    file: 'apps/inventory/buy-now.2pc.json',
    what: 'Buy now (2PC in prepared transactions)',
    input: { orderId: randomUUID(), sku: 'SKU-2', qty: 1, accountId: 'acc-ada', amount: 2999 },
  },
];

interface DemoKeys {
  /** ORDO_API_KEYS for the coordinator. */
  config: string;
  /** An admin secret: registers the samples and goes into the printed curl lines. */
  admin?: string;
  /** What participants ask the coordinator for decisions with (a participant key). */
  participants?: string;
  /** What the order service starts its place-order sagas with (a starter key). */
  orders?: string;
  generated: boolean;
}

/**
 * The configured ORDO_API_KEYS (its first admin key, its first participant key, else
 * viewer, and its first starter key, else operator, serve the demo), else a fresh admin,
 * participant and starter key.
 */
function demoKeys(): DemoKeys {
  const configured = process.env.ORDO_API_KEYS;
  if (configured) {
    // name:role:secret[;expires=…]
    const entries = configured.split(',').map((entry) => entry.split(';')[0].trim().split(':'));
    const secretOf = (role: string) =>
      entries
        .find(([, r]) => r === role)
        ?.slice(2)
        .join(':');
    const admin = secretOf('admin');
    const participants = process.env.ORDO_COORDINATOR_API_KEY ?? secretOf('participant') ?? secretOf('viewer') ?? admin;
    const orders = process.env.ORDO_COORDINATOR_API_KEY ?? secretOf('starter') ?? secretOf('operator') ?? admin;
    return { config: configured, admin, participants, orders, generated: false };
  }
  const [admin, participant, starter] = [0, 1, 2].map(() => randomBytes(24).toString('base64url'));
  return {
    config: `demo-admin:admin:${admin},participants:participant:${participant},orders:starter:${starter}`,
    admin,
    participants: participant,
    orders: starter,
    generated: true,
  };
}

/** The participant's ORDO_COORDINATOR_API_KEY setting, when it has a key. */
const coordinatorKey = (key: string | undefined) => (key ? { ORDO_COORDINATOR_API_KEY: key } : {});

/** Registers a sample definition; a body already registered keeps its version. */
async function registerSample(api: string, file: string, adminKey: string): Promise<{ name: string; version: number }> {
  const response = await fetch(`${api}/api/v1/definitions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
    body: readFileSync(join(REPO_ROOT, file), 'utf8'),
  });
  const body = (await response.json()) as { name: string; version: number };
  if (!response.ok) throw new InfraError(`registering ${file} failed: ${JSON.stringify(body)}`);
  return body;
}

async function main() {
  try {
    acquireLock();
  } catch (error) {
    console.error(`[ordo] ${(error as Error).message}`);
    process.exit(1);
  }
  const children = new Map<string, ChildProcess>();
  let infra: Infra | undefined;
  let stopping = false;

  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    await Promise.all([...children.values()].map((c) => (c.pid ? terminate(c.pid, 15_000) : Promise.resolve())));
    if (infra) await stopInfra(infra.started);
    rmSync(LOCK, { force: true });
    say('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    const instances = participantInstances();
    infra = await startInfra(say);
    const prefix = process.env.KAFKA_TOPIC_PREFIX ?? '';
    const ports = Object.fromEntries(APPS.map((a) => [a.name, envPort(`${a.name.toUpperCase()}_PORT`, a.port)]));
    const keys = demoKeys();
    const processes = APPS.flatMap((app) =>
      Array.from({ length: app.name === 'coordinator' ? 1 : instances }, (_, k) => ({
        app,
        label: k === 0 ? app.name : `${app.name}-${k + 1}`,
        port: ports[app.name] + 10 * k,
      })),
    );
    for (const { app, label, port } of processes) {
      const child = spawnApp(app.name, {
        PORT: String(port),
        DATABASE_URL: infra.databaseUrl,
        DATABASE_SCHEMA: app.schema,
        KAFKA_BROKERS: infra.kafkaBrokers,
        KAFKA_TOPIC_PREFIX: prefix,
        // Short lines for a person at a terminal (JSON stays the apps' default), in colour
        // when this terminal has it: the apps write into a pipe.
        LOG_FORMAT: process.env.LOG_FORMAT ?? 'pretty',
        // Fast failover (docs/operations.md#fast-failover) on the local broker, which allows
        // short sessions; a broker of yours (KAFKA_BROKERS) may not. Your settings win.
        ...(process.env.KAFKA_BROKERS ? {} : Object.fromEntries(Object.entries(FAST_FAILOVER).filter(([k]) => process.env[k] === undefined))),
        ...(process.stdout.isTTY && !process.env.NO_COLOR ? { FORCE_COLOR: '1' } : {}),
        // Participants holding prepared transactions ask it for decisions they missed; the
        // order service delivers the place-order starts of POST /api/v1/orders to it.
        ...(app.name === 'coordinator'
          ? { ORDO_API_KEYS: keys.config }
          : {
              ORDO_COORDINATOR_URL: `http://localhost:${ports.coordinator}`,
              ...coordinatorKey(app.name === 'order' ? keys.orders : keys.participants),
            }),
      });
      children.set(label, child);
      prefixOutput(label, child);
      child.on('exit', (code, signal) => {
        if (stopping) return;
        say(`${label} exited (${signal ?? `code ${code}`}); stopping everything`);
        void stop(1);
      });
    }
    const started = Date.now();
    await Promise.all(
      processes.map(({ label, port }) => waitFor(`${label} health`, async () => ((await healthy(port)) ? true : undefined), 120_000)),
    );
    const api = `http://localhost:${ports.coordinator}`;
    say(`all healthy in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    const samples = [];
    if (keys.admin) for (const sample of SAMPLES) samples.push({ ...sample, ...(await registerSample(api, sample.file, keys.admin)) });
    else say('ORDO_API_KEYS has no admin key: the sample definitions were not registered');
    const auth = `-H 'authorization: Bearer ${keys.admin ?? '<your key>'}'`;
    say(`API:        ${api}/api/v1`);
    say(`OpenAPI:    ${api}/api/docs`);
    say(`Health:     ${api}/api/v1/health`);
    say(`Dashboard:  ${api}/ (sign in with an API key)`);
    for (const { label, port } of processes.slice(1)) say(`${label.padEnd(11)} http://localhost:${port}/api/v1`);
    if (keys.generated) say(`Admin API key (made for this run; set ORDO_API_KEYS to choose your own): ${keys.admin}`);
    for (const sample of samples) {
      say(`${sample.what}: "${sample.name}" version ${sample.version} registered. Start one:`);
      console.log(
        `  curl -s -XPOST ${api}/api/v1/transactions ${auth} -H 'content-type: application/json' \\\n` +
          `    -d '{"definition":"${sample.name}","input":${JSON.stringify(sample.input)}}'`,
      );
    }
    const placeOrder = samples.find((sample) => sample.name === 'place-order');
    if (placeOrder) {
      say('Or place an order at the order service, which starts its place-order saga from its own transaction:');
      console.log(
        `  curl -s -XPOST http://localhost:${ports.order}/api/v1/orders -H 'content-type: application/json' -d '${JSON.stringify(placeOrder.input)}'`,
      );
    }
    say('Follow it (the id is in the answer):');
    console.log(`  curl -s ${api}/api/v1/transactions/<id> ${auth}`);
    say('Press Ctrl-C to stop everything.');
  } catch (error) {
    console.error(error instanceof InfraError ? `[ordo] ${error.message}` : error);
    await stop(1);
  }
}

void main();
