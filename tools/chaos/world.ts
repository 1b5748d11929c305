import { ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import { chmodSync, createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { Pool } from 'pg';
import { AppName, APPS, healthy, spawnApp } from '../launcher/apps';
import { KafkaOptions, kafkaBrokers, startKafka, stopKafka } from '../infra/kafka';
import { PostgresOptions, postgresUrl, startPostgres, stopPostgres } from '../infra/postgres';
import { cleanUpOnInterrupt, portOpen, sleep, waitFor } from '../infra/proc';

/**
 * A whole Ordo deployment on infrastructure of its own: a private PostgreSQL cluster and
 * Kafka broker, coordinators and the sample participants as real processes. The chaos run
 * and the hostile-input suite kill, pause and restart any part of it without touching
 * anything else on the machine.
 */
export const PARTICIPANTS = ['order', 'inventory', 'payment'] as const;
export const WORLD_SCHEMA = 'ordo';

export interface WorldOptions {
  /** Names the temporary folder and the API keys. */
  label: string;
  coordinators: number;
  topicPrefix: string;
  /** Instances of each sample participant, sharing its command topic (default 1). */
  participantInstances?: number;
  /** Added to every app's environment (e.g. KAFKA_SESSION_TIMEOUT_MS). */
  env?: Record<string, string>;
  /** Added to every participant's environment (e.g. FAULT_INJECTION). */
  participantEnv?: Record<string, string>;
  log: (line: string) => void;
}

export interface World {
  postgres: PostgresOptions;
  kafka: KafkaOptions;
  kafkaBrokers: string;
  databaseUrl: string;
  /** A small pool on the world's database, for seeding and checks. */
  db: Pool;
  coordinators: App[];
  participants: App[];
  apps: App[];
  /** An admin client over every coordinator. */
  client: Client;
  /** Stops every process and the infrastructure; the logs stay. */
  stop(): Promise<void>;
}

/** An app process that may be killed and restarted on the same port. */
export class App {
  process?: ChildProcess;
  exits: string[] = [];
  private killing = false;
  private readonly logFile;

  constructor(
    readonly label: string,
    readonly name: AppName,
    readonly port: number,
    private readonly env: Record<string, string>,
    logDir: string,
  ) {
    this.logFile = join(logDir, `${label}.log`);
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    const child = spawnApp(this.name, { ...this.env, PORT: String(this.port) });
    const out = createWriteStream(this.logFile, { flags: 'a' });
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
    child.once('exit', (code, signal) => {
      if (!this.killing) this.exits.push(`${this.label} exited on its own (${signal ?? `code ${code}`}); log: ${this.logFile}`);
    });
    this.process = child;
    this.killing = false;
    await waitFor(
      `${this.label} health`,
      async () => ((await healthy(this.port)) ? true : undefined),
      180_000,
      () => (child.exitCode !== null ? `exited with code ${child.exitCode}; see ${this.logFile}` : undefined),
    );
  }

  /** Restarts a process that died on its own, so the run can go on (the death is reported). */
  async reviveIfDead() {
    const child = this.process!;
    if (!this.killing && (child.exitCode !== null || child.signalCode !== null)) await this.start();
  }

  async stop(signal: NodeJS.Signals) {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.killing = true;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }
}

/**
 * A free port below Linux's ephemeral range (32768+): a port from there can be taken by some
 * client's outgoing connection while its server is down, and the restart would then fail.
 */
async function privatePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await portOpen(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

export async function startWorld(options: WorldOptions): Promise<World> {
  const { log } = options;
  const dir = mkdtempSync(join(tmpdir(), `ordo-${options.label}-`));
  // The postgres user (as root) must reach the cluster's folder inside.
  chmodSync(dir, 0o755);
  const logDir = join(dir, 'logs');
  mkdirSync(logDir);
  const postgres: PostgresOptions = { dir: join(dir, 'postgres'), port: await privatePort() };
  const kafka: KafkaOptions = { dir: join(dir, 'kafka'), port: await privatePort(), controllerPort: await privatePort(), heapMb: 512 };
  log(`private infrastructure under ${dir}: PostgreSQL on ${postgres.port}, Kafka on ${kafka.port}; logs in ${logDir}`);
  await Promise.all([startPostgres(postgres), startKafka(kafka)]);
  const databaseUrl = postgresUrl(postgres.port);
  const db = new Pool({ connectionString: databaseUrl, max: 4 });
  // Idle connections die with a database restart; the pool reconnects on next use.
  db.on('error', () => undefined);

  const secrets = { admin: randomBytes(16).toString('hex'), participant: randomBytes(16).toString('hex') };
  const shared = {
    DATABASE_URL: databaseUrl,
    KAFKA_BROKERS: kafkaBrokers(kafka),
    KAFKA_TOPIC_PREFIX: options.topicPrefix,
    KAFKA_TOPIC_PARTITIONS: '8',
    LOG_LEVEL: 'warn',
    ...options.env,
  };
  const schemaOf = (name: AppName) => APPS.find((a) => a.name === name)!.schema;
  const keys = `${options.label}-admin:admin:${secrets.admin},${options.label}-participant:participant:${secrets.participant}`;
  const coordinatorEnv = { ...shared, DATABASE_SCHEMA: WORLD_SCHEMA, ORDO_API_KEYS: keys };
  const coordinators = await Promise.all(
    Array.from(
      { length: options.coordinators },
      async (_, i) => new App(`coordinator-${'abcdefgh'[i]}`, 'coordinator', await privatePort(), coordinatorEnv, logDir),
    ),
  );
  const instances = Array.from({ length: options.participantInstances ?? 1 }, (_, k) => k);
  const participants = await Promise.all(
    PARTICIPANTS.flatMap((name) => instances.map((k) => ({ name, label: k === 0 ? name : `${name}-${k + 1}` }))).map(
      async ({ name, label }) =>
        new App(
          label,
          name,
          await privatePort(),
          {
            ...shared,
            DATABASE_SCHEMA: schemaOf(name),
            ORDO_COORDINATOR_URL: coordinators[0].url,
            ORDO_COORDINATOR_API_KEY: secrets.participant,
            ...options.participantEnv,
          },
          logDir,
        ),
    ),
  );
  const apps = [...coordinators, ...participants];
  const stop = cleanUpOnInterrupt(`the ${options.label} run`, async () => {
    await Promise.all(apps.map((a) => a.stop('SIGTERM')));
    await db.end().catch(() => undefined);
    await Promise.all([stopKafka(kafka), stopPostgres(postgres)]);
    // The logs stay for a post-mortem; the data goes.
    for (const data of [postgres.dir, kafka.dir]) rmSync(data, { recursive: true, force: true });
  });
  try {
    const started = Date.now();
    await Promise.all(participants.map((p) => p.start()));
    // Together, as a deployment would: all migrate the fresh schema under one lock.
    await Promise.all(coordinators.map((c) => c.start()));
    log(`${coordinators.length} coordinator(s) and ${participants.length} participants healthy in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    await stop();
    throw error;
  }
  const client = new Client(
    coordinators.map((c) => c.url),
    secrets.admin,
  );
  return { postgres, kafka, kafkaBrokers: shared.KAFKA_BROKERS, databaseUrl, db, coordinators, participants, apps, client, stop };
}

/** A REST client over every coordinator: a request cut off by a kill goes to the next one. */
export class Client {
  private next = 0;

  constructor(
    private readonly urls: string[],
    private readonly key: string,
  ) {}

  async post<T = { id: string }>(path: string, body: unknown, limitMs = 300_000): Promise<T> {
    const until = Date.now() + limitMs;
    for (;;) {
      const url = this.urls[this.next++ % this.urls.length];
      let failure: string;
      try {
        const response = await fetch(`${url}/api/v1${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(15_000),
        });
        const text = await response.text();
        if (response.ok) return JSON.parse(text) as T;
        // 5xx: the instance lost its database or is shutting down; 429: try again later.
        if (response.status < 500 && response.status !== 429) throw new Error(`POST ${path}: ${response.status} ${text}`);
        failure = `${response.status} ${text.slice(0, 200)}`;
      } catch (error) {
        if ((error as Error).message.startsWith('POST ')) throw error;
        failure = (error as Error).message;
      }
      if (Date.now() > until) throw new Error(`POST ${path} kept failing for ${limitMs / 1000} s: ${failure}`);
      await sleep(200);
    }
  }
}
