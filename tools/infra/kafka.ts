import { randomBytes, createHash } from 'crypto';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'fs';
import { join } from 'path';
import { Kafka, logLevel } from 'kafkajs';
import { InfraError, detached, isAlive, portOpen, runOrFail, terminate, waitFor } from './proc';
import { REPO_ROOT } from './paths';

/**
 * A private single-node KRaft Kafka broker run straight from Maven Central jars: the
 * committed pom.xml pins the version, Maven resolves the classpath into the user's Maven
 * cache, and the JVM runs `kafka.tools.StorageTool format` then `kafka.Kafka`.
 */
export interface KafkaOptions {
  dir: string;
  port: number;
  controllerPort: number;
  heapMb?: number;
  log?: (line: string) => void;
}

const POM = join(REPO_ROOT, 'tools/infra/kafka/pom.xml');
const LOG4J = join(REPO_ROOT, 'tools/infra/kafka/log4j.properties');
const READY_TIMEOUT_MS = 120_000;

export function kafkaBrokers(options: KafkaOptions): string {
  return `127.0.0.1:${options.port}`;
}

function javaBin(): string {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

/** The broker's classpath, resolved by Maven once per pom.xml content. */
async function classpath(dir: string): Promise<string> {
  const pomHash = createHash('sha1').update(readFileSync(POM)).digest('hex').slice(0, 12);
  const file = join(dir, `classpath-${pomHash}.txt`);
  if (!existsSync(file)) {
    await runOrFail('resolving the Kafka jars with Maven', 'mvn', [
      '-q', '-B', '-f', POM, 'dependency:build-classpath', `-Dmdep.outputFile=${file}`,
    ]);
  }
  return readFileSync(file, 'utf8').trim();
}

function serverProperties(options: KafkaOptions, dataDir: string): string {
  return `# Written by Ordo's local infrastructure (tools/infra/kafka.ts).
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${options.controllerPort}
listeners=PLAINTEXT://127.0.0.1:${options.port},CONTROLLER://127.0.0.1:${options.controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${options.port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${dataDir}
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
default.replication.factor=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
log.retention.hours=24
`;
}

function pidFile(options: KafkaOptions) {
  return join(options.dir, 'kafka.pid');
}

/** The pid of the broker this folder started, if it still runs. */
export function kafkaPid(options: KafkaOptions): number | undefined {
  const file = pidFile(options);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) return pid;
  rmSync(file, { force: true });
  return undefined;
}

/** Connects as a client and asks for the cluster; true once the broker serves requests. */
export async function kafkaAnswers(brokers: string): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'ordo-infra',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 2000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0 && cluster.controller !== null;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Formats the data folder, re-creating it when it belongs to another cluster. */
async function format(options: KafkaOptions, cp: string, config: string, dataDir: string) {
  const idFile = join(options.dir, 'cluster.id');
  const meta = join(dataDir, 'meta.properties');
  let clusterId = existsSync(idFile) ? readFileSync(idFile, 'utf8').trim() : '';
  const formattedId = existsSync(meta) ? /cluster\.id=(\S+)/.exec(readFileSync(meta, 'utf8'))?.[1] : undefined;
  if (existsSync(dataDir) && (!clusterId || formattedId !== clusterId)) {
    options.log?.(`Kafka data folder ${dataDir} is stale or incomplete; re-creating it`);
    rmSync(dataDir, { recursive: true, force: true });
  }
  if (existsSync(meta) && formattedId === clusterId) return;
  // A Kafka cluster id is a base64url-encoded 16-byte UUID.
  clusterId = randomBytes(16).toString('base64url');
  writeFileSync(idFile, clusterId);
  // The `=` form: a generated id may begin with "-", which as a separate argument would
  // read as an option.
  await runOrFail('formatting the Kafka storage', javaBin(), [
    '-cp', cp, `-Dlog4j.configuration=file:${LOG4J}`, 'kafka.tools.StorageTool',
    'format', `--cluster-id=${clusterId}`, '-c', config,
  ]);
}

/** Starts the broker unless it runs already. Returns whether this call started it. */
export async function startKafka(options: KafkaOptions): Promise<boolean> {
  const log = options.log ?? (() => undefined);
  const brokers = kafkaBrokers(options);
  mkdirSync(options.dir, { recursive: true });
  if (kafkaPid(options) !== undefined) {
    await waitFor('Kafka broker', async () => ((await kafkaAnswers(brokers)) ? true : undefined), READY_TIMEOUT_MS);
    log(`Kafka already running on ${brokers}; reusing it`);
    return false;
  }
  for (const port of [options.port, options.controllerPort]) {
    if (await portOpen(port)) throw new InfraError(`port ${port} is taken by another process: set ORDO_KAFKA_PORT / ORDO_KAFKA_CONTROLLER_PORT to free ports`);
  }
  const cp = await classpath(options.dir);
  const dataDir = join(options.dir, 'data');
  const config = join(options.dir, 'server.properties');
  writeFileSync(config, serverProperties(options, dataDir));
  await format(options, cp, config, dataDir);

  const logFile = join(options.dir, 'kafka.log');
  const out = openSync(logFile, 'a');
  const heap = options.heapMb ?? 768;
  const child = detached(javaBin(), [
    `-Xms${Math.min(256, heap)}m`, `-Xmx${heap}m`, '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${LOG4J}`, `-Dkafka.logs.dir=${options.dir}`,
    '-cp', cp, 'kafka.Kafka', config,
  ], { stdio: ['ignore', out, out], cwd: options.dir });
  closeSync(out);
  writeFileSync(pidFile(options), String(child.pid));
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? -1));

  const started = Date.now();
  await waitFor(
    'Kafka broker',
    async () => ((await kafkaAnswers(brokers)) ? true : undefined),
    READY_TIMEOUT_MS,
    () => (exited === null ? undefined : `exited with code ${exited}; last lines of ${logFile}:\n${tail(logFile)}`),
  );
  log(`Kafka started on ${brokers} in ${((Date.now() - started) / 1000).toFixed(1)}s (pid ${child.pid})`);
  return true;
}

export async function stopKafka(options: KafkaOptions): Promise<void> {
  const pid = kafkaPid(options);
  if (pid === undefined) return;
  await terminate(pid, 30_000);
  rmSync(pidFile(options), { force: true });
}

function tail(file: string, lines = 10): string {
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n') : '(no log)';
}
