import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { run } from '../infra/proc';
import { REPO_ROOT } from '../infra/paths';

/**
 * Where one Node.js process's CPU time goes, by part of its stack, from perf's on-CPU
 * samples (CPU time, unlike V8's --cpu-prof, which samples wall time and charges a socket
 * write with the wait after it). The process must run with PERF_MAP_FLAG, so that perf can
 * name its compiled JavaScript.
 */

export const PERF_MAP_FLAG = '--perf-basic-prof-only-functions';

export const PARTS = [
  "Ordo's own code",
  'HTTP framework and validation',
  'Kafka client',
  'PostgreSQL driver',
  'metrics, tracing and logging',
  'other packages',
  'Node.js (sockets, streams, promises)',
  'garbage collection',
  'V8 compiler',
  'no JavaScript on the stack (event loop, system calls)',
] as const;
export type Part = (typeof PARTS)[number];

export interface CpuSplit {
  samples: number;
  /** Share of the samples by part; they sum to 1. */
  shares: Record<Part, number>;
  /** The packages (and Ordo's folders) of the innermost JavaScript frames, largest first. */
  top: { name: string; share: number }[];
}

/** A split, or why it could not be measured. */
export type MeasuredSplit = CpuSplit | { unavailable: string };

/** Packages by part; a package not listed is one of the "other packages". */
const PACKAGE_PARTS: [RegExp, Part][] = [
  [/^(kafkajs|@nestjs\/microservices)$/, 'Kafka client'],
  [/^(pg|pg-.+|postgres-.+|pgpass|typeorm|@nestjs\/typeorm)$/, 'PostgreSQL driver'],
  [
    /^(prom-client|tdigest|bintrees|@opentelemetry\/.+|pino|pino-.+|nestjs-pino|fast-redact|sonic-boom|thread-stream)$/,
    'metrics, tracing and logging',
  ],
  [
    /^(@nestjs\/.+|fastify|@fastify\/.+|find-my-way|avvio|light-my-request|fast-json-stringify|fast-querystring|fast-decode-uri-component|fast-uri|fastq|reusify|toad-cache|rfdc|abstract-logging|process-warning|secure-json-parse|safe-regex2|ret|proxy-addr|forwarded|ipaddr\.js|path-to-regexp|content-disposition|helmet|class-validator|class-transformer|validator|libphonenumber-js|reflect-metadata|rxjs|iterare|uid|tslib|fast-safe-stringify)$/,
    'HTTP framework and validation',
  ],
];

/** V8's collectors, on the main thread or its helper threads. */
const GC_FRAME =
  /Heap::CollectGarbage|Heap::PerformGarbageCollection|Scaveng|MarkCompact|ConcurrentMarking|IncrementalMarking|MinorMarkSweep|Sweeper|Evacuat|PointersUpdating|MemoryReducer/;
/** V8's optimising compilers (they run on helper threads). */
const COMPILER_FRAME = /OptimizingCompileDispatcher|TurbofanCompilationJob|compiler::Pipeline|maglev::/;
/** A frame of compiled JavaScript (from the process's perf map) with its script: `JS:*name /path/file.js:1:2`, `node:internal/…:1:2`. */
const JS_FRAME = /\/perf-\d+\.map\)$/;
const SCRIPT = /\s((?:\/|node:)\S+?):\d+:\d+/;
/** Where Ordo's compiled code lives. */
const BUILT = join(REPO_ROOT, 'dist') + '/';

/** The part a script belongs to, and the name it is listed under (a package, a folder of Ordo's build, node). */
function partOf(script: string): { part: Part; name: string } {
  if (script.startsWith('node:')) return { part: 'Node.js (sockets, streams, promises)', name: 'node' };
  const inPackages = script.lastIndexOf('node_modules/');
  if (inPackages >= 0) {
    const [scope, name] = script.slice(inPackages + 'node_modules/'.length).split('/');
    const pkg = scope.startsWith('@') ? `${scope}/${name}` : scope;
    return { part: PACKAGE_PARTS.find(([pattern]) => pattern.test(pkg))?.[1] ?? 'other packages', name: pkg };
  }
  if (script.startsWith(BUILT)) return { part: "Ordo's own code", name: script.slice(BUILT.length).split('/').slice(0, 4).join('/') };
  return { part: 'other packages', name: script };
}

/**
 * The split of `perf script` output (samples separated by blank lines, each a header line
 * and its call chain, innermost frame first). A sample inside a collector or compiler is
 * theirs, whatever JavaScript triggered it; otherwise the innermost JavaScript frame with a
 * script decides.
 */
export function splitSamples(script: string): CpuSplit {
  const parts = new Map<Part, number>(PARTS.map((part) => [part, 0]));
  const names = new Map<string, number>();
  let samples = 0;
  for (const sample of script.split(/\n\s*\n/)) {
    const frames = sample
      .split('\n')
      .slice(1)
      .map((line) => line.trim())
      .filter(Boolean);
    if (frames.length === 0) continue;
    samples++;
    let part: Part = 'no JavaScript on the stack (event loop, system calls)';
    if (frames.some((frame) => GC_FRAME.test(frame))) part = 'garbage collection';
    else if (frames.some((frame) => COMPILER_FRAME.test(frame))) part = 'V8 compiler';
    else {
      const found = frames
        .filter((frame) => JS_FRAME.test(frame))
        .map((frame) => SCRIPT.exec(frame)?.[1])
        .find(Boolean);
      if (found) {
        const of = partOf(found);
        part = of.part;
        names.set(of.name, (names.get(of.name) ?? 0) + 1);
      }
    }
    parts.set(part, parts.get(part)! + 1);
  }
  const share = (n: number) => (samples ? n / samples : 0);
  return {
    samples,
    shares: Object.fromEntries([...parts].map(([part, n]) => [part, share(n)])) as Record<Part, number>,
    top: [...names]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([name, n]) => ({ name, share: share(n) })),
  };
}

/**
 * Samples process `pid` for `seconds` with perf (call graphs, 499 Hz) and splits its CPU
 * time; what stopped it when perf is missing or not allowed. Deletes the process's perf map
 * afterwards (the process keeps writing to it until it exits, then it is gone).
 */
export async function recordCpuSplit(pid: number, seconds: number): Promise<MeasuredSplit> {
  const dir = mkdtempSync(join(tmpdir(), 'ordo-perf-'));
  const data = join(dir, 'perf.data');
  // perf missing (spawn fails) or refused (non-zero exit): its last line of error is the reason.
  const perf = async (args: string[]): Promise<{ stdout: string } | { unavailable: string }> => {
    const result = await run('perf', args).catch((error: Error) => ({ code: 1, stdout: '', stderr: error.message }));
    return result.code === 0 ? { stdout: result.stdout } : { unavailable: `perf ${args[0]} failed: ${result.stderr.trim().split('\n').at(-1)}` };
  };
  try {
    const recorded = await perf(['record', '-F', '499', '-g', '-p', String(pid), '-o', data, '--', 'sleep', String(seconds)]);
    if ('unavailable' in recorded) return recorded;
    const printed = await perf(['script', '-i', data, '-F', 'tid,ip,sym,dso']);
    if ('unavailable' in printed) return printed;
    const split = splitSamples(printed.stdout);
    return split.samples > 0 ? split : { unavailable: 'perf recorded no samples' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    // V8 writes the map to /tmp whatever TMPDIR says.
    rmSync(`/tmp/perf-${pid}.map`, { force: true });
  }
}
