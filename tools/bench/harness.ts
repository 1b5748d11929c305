import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { Agent, OutgoingHttpHeaders, request } from 'http';
import { cpus } from 'os';
import { join } from 'path';
import { Pool } from 'pg';
import { AppName, healthy, spawnApp } from '../launcher/apps';
import { deleteTopicsWithPrefix } from '../infra/kafka';
import { REPO_ROOT } from '../infra/paths';
import { freePort, sleep, waitFor } from '../infra/proc';

/** What the benchmarks share: env settings, app processes, an API client, end detection, topic cleanup, report sections. */

export const TERMINAL = ['completed', 'compensated', 'failed'];

export const log = (line: string) => process.stdout.write(`[bench] ${line}\n`);

export function intEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number`);
  return value;
}

/** A bench option: the flag `--name=value` or else the environment's BENCH_NAME (dashes as underscores). */
export function benchOption(argv: readonly string[], name: string): string | undefined {
  const flag = argv.find((a) => a.startsWith(`--${name}=`));
  return flag ? flag.slice(name.length + 3) : process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
}

/**
 * Open loop: calls `start` `rate` times a second for `seconds` (at least once), on schedule
 * whatever the answers; resolves with every result once all have settled (rejects with the
 * first failure, which meanwhile counts as handled).
 */
export async function paced<T>(rate: number, seconds: number, start: () => Promise<T>): Promise<T[]> {
  const started = performance.now();
  const all: Promise<T>[] = [];
  for (let n = 0; n < Math.max(1, Math.round(rate * seconds)); n++) {
    const wait = started + (n * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    const one = start();
    one.catch(() => undefined);
    all.push(one);
  }
  return Promise.all(all);
}

/** The figure at quantile `p` (0.5, 0.99) of ascending `sorted` figures: the smallest that at least that share reaches. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}

/** The middle figure: one round disturbed by something else on the machine cannot decide. */
export function median(figures: number[]): number {
  return [...figures].sort((a, b) => a - b)[Math.floor(figures.length / 2)];
}

export interface BenchApp {
  name: AppName;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** Starts a built app on a free port and waits until it is healthy; stops it again when it is not. */
export async function startBenchApp(name: AppName, env: Record<string, string>): Promise<BenchApp> {
  const port = await freePort();
  const child = spawnApp(name, { LOG_LEVEL: 'warn', ...env, PORT: String(port) });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    await waitFor(
      `${name} health`,
      async () => ((await healthy(port)) ? true : undefined),
      120_000,
      () => (child.exitCode !== null ? `exited with code ${child.exitCode}:\n${output}` : undefined),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { name, port, pid: child.pid!, stop };
}

/**
 * The coordinator's REST API as the bench calls it: node's http on kept-alive connections.
 * The global fetch cost the harness about four times the CPU per request, taken from the
 * system under test on the same cores.
 */
export class Api {
  // Idle connections are closed here before the server's keep-alive timeout (Node's default,
  // 5 s) closes them: otherwise a request sent as the server closes its end meets a reset.
  private readonly agent = new Agent({ keepAlive: true, timeout: 4000 });

  constructor(
    private readonly base: string,
    private readonly key: string,
  ) {}

  get<T>(path: string): Promise<T> {
    return this.send<T>('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>('POST', path, JSON.stringify(body));
  }

  private async send<T>(method: string, path: string, body?: string): Promise<T> {
    const { status, text } = await this.exchange(method, path, body).catch((error: NodeJS.ErrnoException & { reused?: boolean }) => {
      // A kept-alive connection the server closed meanwhile: the request never reached it.
      if (error.reused && error.code === 'ECONNRESET') return this.exchange(method, path, body);
      throw error;
    });
    if (status < 200 || status >= 300) throw new Error(`${method} ${path}: ${status} ${text}`);
    return JSON.parse(text) as T;
  }

  private exchange(method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
    const headers: OutgoingHttpHeaders = { authorization: `Bearer ${this.key}` };
    if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    return new Promise((resolve, reject) => {
      const sent = request(`${this.base}${path}`, { method, headers, agent: this.agent }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('error', reject);
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      });
      sent.on('error', (error) => reject(Object.assign(error, { reused: sent.reusedSocket })));
      sent.end(body);
    });
  }
}

export interface Ended {
  status: string;
  /** The transaction's updated_at at its end: when the coordinator recorded the terminal status. */
  at: number;
  /** The transaction's created_at: when the coordinator stored it (same clock as `at`). */
  createdAt: number;
}

/**
 * Tells when transactions end by reading the coordinator's table, one query for all in
 * flight every `pollMs`, so watching costs the coordinator nothing (no API polling). A
 * failed query is tried again at the next poll, so it survives a database restart.
 */
export class EndWatcher {
  private readonly waiting = new Map<string, ((ended: Ended) => void)[]>();
  private readonly statuses = new Map<string, string>();
  private watching = true;
  private readonly loop: Promise<void>;

  constructor(
    private readonly db: Pick<Pool, 'query'>,
    private readonly options: { table?: string; pollMs?: number } = {},
  ) {
    this.loop = this.watch();
  }

  /** Resolves once `id` has ended (one that ended already: at the next poll); any number may wait for one. */
  ended(id: string): Promise<Ended> {
    return new Promise((resolve) => this.waiting.set(id, [...(this.waiting.get(id) ?? []), resolve]));
  }

  /** The terminal status a transaction was seen to end with; undefined while it has not. */
  statusOf(id: string): string | undefined {
    return this.statuses.get(id);
  }

  async close(): Promise<void> {
    this.watching = false;
    await this.loop;
  }

  private async watch() {
    const table = this.options.table ?? 'transactions';
    while (this.watching) {
      if (this.waiting.size > 0) {
        try {
          const { rows } = await this.db.query<{ id: string; status: string; created_at: Date; updated_at: Date }>(
            `SELECT id, status, created_at, updated_at FROM ${table} WHERE id = ANY($1::uuid[]) AND status = ANY($2)`,
            [[...this.waiting.keys()], TERMINAL],
          );
          for (const { id, status, created_at, updated_at } of rows) {
            this.statuses.set(id, status);
            for (const resolve of this.waiting.get(id) ?? []) resolve({ status, at: updated_at.getTime(), createdAt: created_at.getTime() });
            this.waiting.delete(id);
          }
        } catch {
          // The database is restarting (chaos): the next poll reconnects.
        }
      }
      // Not more often: at 5 ms this query was the database's busiest statement, which the
      // system under test then paid for. Latency figures use updated_at, so they do not depend on it.
      await sleep(this.options.pollMs ?? 20);
    }
  }
}

export async function deleteTopics(brokers: string, prefix: string) {
  await deleteTopicsWithPrefix({ ...process.env, KAFKA_BROKERS: brokers }, prefix).catch((error: Error) =>
    log(`could not delete the topics ${prefix}*: ${error.message}`),
  );
}

/**
 * Writes `source` (a markdown file) to `target` with the part between `start` and `end`
 * replaced by `section` (markers included), appended when the markers are missing: each
 * benchmark owns its section of docs/benchmarks.md.
 */
export function replaceSection(source: string, target: string, start: string, end: string, section: string) {
  const current = existsSync(source) ? readFileSync(source, 'utf8') : '# Benchmarks\n';
  const at = current.indexOf(start);
  const updated =
    at >= 0 ? current.slice(0, at) + section + current.slice(current.indexOf(end) + end.length) : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(target, updated);
}

/**
 * Writes `results` to bench/`json` and `section` (a report between its `start` and `end`
 * markers) into docs/`doc`, or both into `out` (the doc copied there) so a trial run leaves
 * the repository alone.
 */
export function writeReport(files: { json: string; doc: string; start: string; end: string }, results: unknown, section: string, out?: string) {
  const docs = join(REPO_ROOT, 'docs', files.doc);
  const json = join(out ?? join(REPO_ROOT, 'bench'), files.json);
  const markdown = out ? join(out, files.doc) : docs;
  mkdirSync(out ?? join(REPO_ROOT, 'bench'), { recursive: true });
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  replaceSection(docs, markdown, files.start, files.end, section);
  log(`wrote ${json} and ${markdown}`);
}

/** The first line of a report: when, and on what machine. */
export const ranOn = () =>
  `Last run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}),`;

/** Replaces benchmark `name`'s own section of docs/benchmarks.md (between `<!-- bench:<name>:start -->` and its end marker) with `lines`. */
export function writeDocsSection(name: string, lines: readonly string[]) {
  const file = join(REPO_ROOT, 'docs/benchmarks.md');
  const [start, end] = [`<!-- bench:${name}:start -->`, `<!-- bench:${name}:end -->`];
  replaceSection(file, file, start, end, [start, ...lines, end].join('\n'));
  log(`wrote ${file}`);
}

/** Runs a benchmark's main: a failure prints its stack and sets exit code 1. */
export function runBench(main: () => Promise<void>): void {
  main().catch((error) => {
    process.stderr.write(`[bench] ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  });
}
