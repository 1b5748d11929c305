import { ChildProcess, spawn } from 'child_process';
import { join } from 'path';
import { REPO_ROOT } from '../infra/paths';

/** The processes `npm start` runs, with their default ports and schemas. */
export const APPS = [
  { name: 'coordinator', port: 3000, schema: 'ordo' },
  { name: 'order', port: 3001, schema: 'orders' },
  { name: 'inventory', port: 3002, schema: 'inventory' },
  { name: 'payment', port: 3003, schema: 'payment' },
] as const;

export type AppName = (typeof APPS)[number]['name'];

export function appEntry(name: AppName): string {
  return join(REPO_ROOT, 'dist/apps', name, 'src/main.js');
}

/**
 * Node sizes its heap by the machine's memory (a quarter of it), not by what a service
 * needs, and lets garbage pile up to that: on 24 GB the coordinator reached 356 MB RSS at
 * 256 sagas in flight. A cap on the old generation keeps it near 230 MB. The young
 * generation twice Node's default (32 MB semi-spaces) halves the scavenges, and objects that
 * live as long as a saga are promoted less: 7–20 % less coordinator CPU per saga in six
 * pairs. The old generation must keep room for a whole young generation besides its
 * garbage, or V8 runs full collections instead of scavenges (at 192 MB, semi-spaces of 40
 * MB did that: 84 full collections in 25 s, coordinator CPU +50 %). The Docker image sets
 * the same; NODE_OPTIONS overrides it.
 */
export const DEFAULT_NODE_OPTIONS = '--max-old-space-size=256 --max-semi-space-size=32';

/**
 * Starts one app's built entry point with the given environment. With ORDO_CPU_PROF_DIR set,
 * each app writes a V8 CPU profile there when it exits (NODE_OPTIONS may not carry --cpu-prof).
 */
export function spawnApp(name: AppName, env: NodeJS.ProcessEnv, output: 'pipe' | 'inherit' = 'pipe'): ChildProcess {
  return spawnService(name, [appEntry(name)], env, output);
}

/** Runs a built script (`entry` and its arguments) as an Ordo service process, named `name` in its profile. */
export function spawnService(name: string, entry: string[], env: NodeJS.ProcessEnv, output: 'pipe' | 'inherit' = 'pipe'): ChildProcess {
  const profileDir = env.ORDO_CPU_PROF_DIR ?? process.env.ORDO_CPU_PROF_DIR;
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.${Date.now()}.cpuprofile`] : [];
  return spawn(process.execPath, ['--enable-source-maps', ...profile, ...entry], {
    env: { NODE_OPTIONS: DEFAULT_NODE_OPTIONS, ...process.env, ...env },
    stdio: ['ignore', output, output],
  });
}

/** Resolves once the app's health endpoint answers 200. */
export async function healthy(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/api/v1/health`, { signal: AbortSignal.timeout(3000) });
    return response.status === 200;
  } catch {
    return false;
  }
}

/**
 * The settings docs/operations.md gives for failover within 3 s (a broker that allows 1 s
 * sessions, as the local one does): a killed instance's partitions move after 1.5 s, and
 * its left-behind outbox rows go out after 1 s.
 */
export const FAST_FAILOVER = { KAFKA_SESSION_TIMEOUT_MS: '1500', OUTBOX_GRACE_MS: '1000', OUTBOX_POLL_MS: '500' };
