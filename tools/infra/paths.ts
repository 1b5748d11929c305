import { resolve } from 'path';

/** The repository root (tools/infra/ is two levels down, in source and in dist/). */
export const REPO_ROOT = resolve(__dirname, __dirname.includes('/dist/') ? '../../..' : '../..');

/** Git-ignored folder holding local infrastructure state: data, logs, pid files. */
export const STATE_DIR = process.env.ORDO_STATE_DIR ?? resolve(REPO_ROOT, '.ordo');

export function envPort(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${name} must be a TCP port (1-65535), got "${raw}"`);
  }
  return port;
}
