import { ChildProcess } from 'child_process';
import { APPS, AppName, healthy, spawnApp } from '../../tools/launcher/apps';
import { freePort, waitFor } from '../../tools/infra/proc';
import { TEST_API_KEYS, TEST_KEYS } from './auth';
import { testEnv } from './test-env';

export { freePort };

export interface RunningApp {
  name: AppName;
  port: number;
  url: string;
  process: ChildProcess;
  output(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
}

const running = new Set<RunningApp>();

/** Stops every app a test file started and left running (also after a failed start). */
export async function stopAllApps(): Promise<void> {
  await Promise.all([...running].map((app) => app.stop()));
}

/**
 * Starts a built app as a real process on the run's database and topics, on a free port
 * unless `env` names one (to restart an app where its clients expect it). A setting given
 * as undefined is unset.
 */
export async function startApp(name: AppName, env: Record<string, string | undefined> = {}): Promise<RunningApp> {
  const { databaseUrl, kafkaBrokers, topicPrefix } = testEnv();
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const child = spawnApp(name, {
    PORT: String(port),
    DATABASE_URL: databaseUrl,
    DATABASE_SCHEMA: APPS.find((a) => a.name === name)!.schema,
    KAFKA_BROKERS: kafkaBrokers,
    KAFKA_TOPIC_PREFIX: topicPrefix,
    KAFKA_TOPIC_PARTITIONS: '2',
    LOG_LEVEL: 'warn',
    // The coordinator's keys; participants ask the coordinator for decisions with theirs.
    ORDO_API_KEYS: TEST_API_KEYS,
    ORDO_COORDINATOR_API_KEY: TEST_KEYS.participant,
    ...env,
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const app: RunningApp = {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    process: child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      running.delete(app);
    },
  };
  running.add(app);
  await waitFor(
    `${name} health`,
    async () => ((await healthy(port)) ? true : undefined),
    60_000,
    () => (child.exitCode !== null ? `exited with code ${child.exitCode}:\n${output}` : undefined),
  );
  return app;
}

/** Runs an app to completion and returns its exit code and output (e.g. a config error). */
export function runAppToExit(name: AppName, env: Record<string, string | undefined>): Promise<{ code: number | null; stderr: string }> {
  const child = spawnApp(name, env);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}
