import { randomBytes, createHash } from 'crypto';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'fs';
import { join } from 'path';
import { Admin, Kafka, KafkaConfig, logLevel } from 'kafkajs';
// By path, not @ordo/platform: the test runner's global setup loads this file without its path mapping.
import { KafkaConfig as KafkaSettings, kafkaConnection } from '../../libs/platform/src/config/kafka-config';
import { validateConfig } from '../../libs/platform/src/config/validate-config';
import { BROKER_CERT_SUBJECT, ensureTlsFiles, TlsFiles, tlsFiles } from './kafka-tls';
import { InfraError, detached, isAlive, portOpen, runOrFail, terminate, waitFor } from './proc';
import { REPO_ROOT, STATE_DIR } from './paths';

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
  /**
   * Opt-in: the broker listens with SASL_SSL only (TLS with required client certificates,
   * SASL SCRAM-SHA-512) and enforces ACLs (KRaft's StandardAuthorizer). `users` are the
   * SCRAM principals made at format time, besides the broker's own and `admin`, a super
   * user for setting ACLs. A CA and certificates are generated under `dir`/tls.
   */
  secure?: { users: string[] };
}

/** The SCRAM user every secure broker has for setting ACLs and managing topics (a super user). */
export const KAFKA_ADMIN_USER = 'admin';
/** The broker's own SCRAM user (inter-broker listener). */
const BROKER_USER = 'broker';

const POM = join(REPO_ROOT, 'tools/infra/kafka/pom.xml');
const LOG4J = join(REPO_ROOT, 'tools/infra/kafka/log4j.properties');
const READY_TIMEOUT_MS = 120_000;

export function kafkaBrokers(options: KafkaOptions): string {
  return `127.0.0.1:${options.port}`;
}

const tlsDir = (options: KafkaOptions) => join(options.dir, 'tls');
const passwordFile = (options: KafkaOptions, user: string) => join(options.dir, 'secrets', `${user}.password`);

/** A SCRAM user's password, made on first use; only the folder's owner can read it. */
function password(options: KafkaOptions, user: string): string {
  const file = passwordFile(options, user);
  if (!existsSync(file)) {
    mkdirSync(join(options.dir, 'secrets'), { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(18).toString('hex'), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8');
}

/**
 * The settings (as environment variables) of an Ordo process that connects to this broker
 * as `user`: KAFKA_BROKERS alone for the default broker; TLS with the generated CA and
 * client certificate, and SCRAM with the user's password file, for a secure one.
 */
export function kafkaClientEnv(options: KafkaOptions, user = KAFKA_ADMIN_USER): Record<string, string> {
  const brokers = { KAFKA_BROKERS: kafkaBrokers(options) };
  if (!options.secure) return brokers;
  password(options, user);
  const tls = tlsFiles(tlsDir(options));
  return {
    ...brokers,
    KAFKA_SSL: 'on',
    KAFKA_SSL_CA_FILE: tls.ca,
    KAFKA_SSL_CERT_FILE: tls.clientCert,
    KAFKA_SSL_KEY_FILE: tls.clientKey,
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: user,
    KAFKA_SASL_PASSWORD_FILE: passwordFile(options, user),
  };
}

/**
 * A kafkajs client for tools, from Ordo's Kafka settings given as environment variables
 * (`process.env` for a cluster the user configured, kafkaClientEnv for a broker of ours).
 */
export function kafkaClient(env: Record<string, string | undefined>, client: Partial<KafkaConfig> = {}): Kafka {
  const settings = validateConfig(KafkaSettings, env);
  return new Kafka({ clientId: 'ordo-tools', logLevel: logLevel.NOTHING, ...kafkaConnection(settings), ...client });
}

export function kafkaAdmin(env: Record<string, string | undefined>, client: Partial<KafkaConfig> = {}): Admin {
  return kafkaClient(env, client).admin();
}

/** Deletes the topics whose names start with `prefix` (a test run's or a benchmark's). */
export async function deleteTopicsWithPrefix(env: Record<string, string | undefined>, prefix: string): Promise<void> {
  const admin = kafkaAdmin(env);
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}

function javaBin(): string {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

/**
 * The broker's classpath, resolved by Maven once per pom.xml content and kept in the
 * checkout's state folder, so brokers of their own (tests, chaos) skip Maven's start too.
 */
async function classpath(): Promise<string> {
  const pomHash = createHash('sha1').update(readFileSync(POM)).digest('hex').slice(0, 12);
  mkdirSync(STATE_DIR, { recursive: true });
  const file = join(STATE_DIR, `kafka-classpath-${pomHash}.txt`);
  if (!existsSync(file)) {
    await runOrFail('resolving the Kafka jars with Maven', 'mvn', ['-q', '-B', '-f', POM, 'dependency:build-classpath', `-Dmdep.outputFile=${file}`]);
  }
  return readFileSync(file, 'utf8').trim();
}

/**
 * The secure broker's listeners: clients on SASL_SSL (SCRAM over TLS, client certificates
 * required), the controller on SSL, where the broker authenticates with its certificate
 * (SCRAM credentials live in the metadata the controller serves, so they cannot guard it).
 */
function secureListeners(options: KafkaOptions, tls: TlsFiles): string {
  return `listeners=SASL_SSL://127.0.0.1:${options.port},CONTROLLER://127.0.0.1:${options.controllerPort}
advertised.listeners=SASL_SSL://127.0.0.1:${options.port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=CONTROLLER:SSL,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${BROKER_USER}" password="${password(options, BROKER_USER)}";
ssl.keystore.type=PEM
ssl.keystore.location=${tls.brokerKeystore}
ssl.truststore.type=PEM
ssl.truststore.location=${tls.ca}
ssl.client.auth=required
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:${BROKER_USER};User:${KAFKA_ADMIN_USER};User:${BROKER_CERT_SUBJECT}
`;
}

function serverProperties(options: KafkaOptions, dataDir: string, tls?: TlsFiles): string {
  const listeners = tls
    ? secureListeners(options, tls)
    : `listeners=PLAINTEXT://127.0.0.1:${options.port},CONTROLLER://127.0.0.1:${options.controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${options.port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
`;
  return `# Written by Ordo's local infrastructure (tools/infra/kafka.ts).
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${options.controllerPort}
${listeners}log.dirs=${dataDir}
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
default.replication.factor=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
# Lets an app choose a session as short as 1 s (KAFKA_SESSION_TIMEOUT_MS) for fast failover.
group.min.session.timeout.ms=1000
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

/** Connects as a client (the admin, on a secure broker) and asks for the cluster; true once the broker serves requests. */
async function kafkaAnswers(options: KafkaOptions): Promise<boolean> {
  const admin = kafkaAdmin(kafkaClientEnv(options), { connectionTimeout: 1000, requestTimeout: 2000, retry: { retries: 0 } });
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
    '-cp',
    cp,
    `-Dlog4j.configuration=file:${LOG4J}`,
    'kafka.tools.StorageTool',
    'format',
    `--cluster-id=${clusterId}`,
    '-c',
    config,
    ...scramUsers(options),
  ]);
}

/**
 * KRaft keeps SCRAM credentials in the cluster metadata; the only way to have them before
 * the broker first starts (to authenticate its own inter-broker connection) is at format.
 */
function scramUsers(options: KafkaOptions): string[] {
  if (!options.secure) return [];
  const users = [BROKER_USER, KAFKA_ADMIN_USER, ...options.secure.users];
  return users.flatMap((user) => ['--add-scram', `SCRAM-SHA-512=[name=${user},password=${password(options, user)}]`]);
}

/** Starts the broker unless it runs already. Returns whether this call started it. */
export async function startKafka(options: KafkaOptions): Promise<boolean> {
  const log = options.log ?? (() => undefined);
  const brokers = kafkaBrokers(options);
  mkdirSync(options.dir, { recursive: true });
  if (kafkaPid(options) !== undefined) {
    await waitFor('Kafka broker', async () => ((await kafkaAnswers(options)) ? true : undefined), READY_TIMEOUT_MS);
    log(`Kafka already running on ${brokers}; reusing it`);
    return false;
  }
  for (const port of [options.port, options.controllerPort]) {
    if (await portOpen(port))
      throw new InfraError(`port ${port} is taken by another process: set ORDO_KAFKA_PORT / ORDO_KAFKA_CONTROLLER_PORT to free ports`);
  }
  const cp = await classpath();
  const dataDir = join(options.dir, 'data');
  const config = join(options.dir, 'server.properties');
  const tls = options.secure ? await ensureTlsFiles(tlsDir(options)) : undefined;
  writeFileSync(config, serverProperties(options, dataDir, tls));
  await format(options, cp, config, dataDir);

  const logFile = join(options.dir, 'kafka.log');
  const out = openSync(logFile, 'a');
  const heap = options.heapMb ?? 768;
  const child = detached(
    javaBin(),
    [
      `-Xms${Math.min(256, heap)}m`,
      `-Xmx${heap}m`,
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-Djava.awt.headless=true',
      `-Dlog4j.configuration=file:${LOG4J}`,
      `-Dkafka.logs.dir=${options.dir}`,
      '-cp',
      cp,
      'kafka.Kafka',
      config,
    ],
    { stdio: ['ignore', out, out], cwd: options.dir },
  );
  closeSync(out);
  writeFileSync(pidFile(options), String(child.pid));
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? -1));

  const started = Date.now();
  await waitFor(
    'Kafka broker',
    async () => ((await kafkaAnswers(options)) ? true : undefined),
    READY_TIMEOUT_MS,
    () => (exited === null ? undefined : `exited with code ${exited}; last lines of ${logFile}:\n${tail(logFile)}`),
  );
  log(`Kafka${options.secure ? ' (SASL_SSL, ACLs)' : ''} started on ${brokers} in ${((Date.now() - started) / 1000).toFixed(1)}s (pid ${child.pid})`);
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
