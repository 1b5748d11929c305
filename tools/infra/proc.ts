import { spawn, SpawnOptions } from 'child_process';
import { readFileSync } from 'fs';
import { connect, createServer } from 'net';

export class InfraError extends Error {}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, capturing its output; never throws on a non-zero exit. */
export function run(cmd: string, args: string[], options: SpawnOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Like run, but a non-zero exit is an InfraError carrying the command's last output lines. */
export async function runOrFail(what: string, cmd: string, args: string[], options: SpawnOptions = {}) {
  const result = await run(cmd, args, options);
  if (result.code !== 0) {
    const tail = (result.stderr || result.stdout).trim().split('\n').slice(-5).join('\n');
    throw new InfraError(`${what} failed (exit ${result.code}): ${tail}`);
  }
  return result;
}

/**
 * Whether a process runs. A zombie counts as dead: where PID 1 does not reap orphans (some
 * containers), a killed daemon stays a zombie that still answers kill(pid, 0).
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state …"; comm may contain spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return true; // no /proc (not Linux): trust kill(pid, 0)
  }
}

export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Polls `probe` until it returns a value other than undefined, or fails with `what` after
 * `timeoutMs`. `abort` lets a caller stop early (e.g. the process being waited on died).
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, abort?: () => string | undefined): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    const value = await probe();
    if (value !== undefined) return value;
    const reason = abort?.();
    if (reason) throw new InfraError(`${what}: ${reason}`);
    if (Date.now() > until) throw new InfraError(`${what}: not ready after ${timeoutMs / 1000}s`);
    await sleep(delay);
  }
}

/** Sends SIGTERM, waits for the process to exit, and SIGKILLs it after `graceMs`. */
export async function terminate(pid: number, graceMs: number): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < until) await sleep(100);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(50);
}

export function detached(cmd: string, args: string[], options: SpawnOptions) {
  const child = spawn(cmd, args, { ...options, detached: true });
  child.unref();
  return child;
}

/**
 * Makes `cleanup` run once, either when the process is interrupted (Ctrl-C, SIGTERM), before
 * it exits, or when the returned function is called (at the end of the run): a long run
 * stopped by hand still stops what it started and removes its data.
 */
export function cleanUpOnInterrupt(what: string, cleanup: () => Promise<void>): () => Promise<void> {
  let cleaning: Promise<void> | undefined;
  const once = () => (cleaning ??= cleanup());
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
    const handler = () => {
      process.stderr.write(`\n${what} interrupted (${signal}): cleaning up\n`);
      void once()
        .catch((error: Error) => process.stderr.write(`cleaning up failed: ${error.message}\n`))
        .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    process.once(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    handlers.forEach(([signal, handler]) => process.off(signal, handler));
    return once();
  };
}
