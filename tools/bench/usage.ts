import { readdirSync, readFileSync } from 'fs';
import { run } from '../infra/proc';

/** CPU time and memory of the processes under test, from /proc, around a measurement. */

let clockTicks = 100;

/** Asks getconf CLK_TCK how many ticks a second /proc counts CPU time in (100 when it cannot tell). */
export async function readClockTicks(): Promise<void> {
  const ticks = await run('getconf', ['CLK_TCK']);
  if (ticks.code === 0) clockTicks = Number(ticks.stdout.trim()) || 100;
}

function stat(pid: number): string[] {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The fields after "pid (comm) ": state is field 3, so field n is at n - 3.
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/**
 * CPU time (user + system, fields 14 and 15) of a process, in ms; with `reaped`, also that of
 * its ended children it has waited for (fields 16 and 17).
 */
export function cpuMs(pid: number, reaped = false): number {
  const fields = stat(pid);
  const ticks = Number(fields[11]) + Number(fields[12]) + (reaped ? Number(fields[13]) + Number(fields[14]) : 0);
  return (ticks * 1000) / clockTicks;
}

/** A process's parent (field 4). */
export function parentPid(pid: number): number {
  return Number(stat(pid)[1]);
}

/** VmRSS / VmHWM (peak) of a process, in MB. */
export function memoryMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return 0; // It has ended (an interrupted run stops the apps while the sampler still runs).
  }
  const match = status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return match ? Number(match[1]) / 1024 : 0;
}

/** Busy CPU time of the whole machine, in ms (all cores). */
export function machineBusyMs(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = ticks;
  return ((user + nice + system + irq + softirq + steal) * 1000) / clockTicks;
}

/** The processes of the system under test. */
export interface Processes {
  apps: { name: string; pid: number }[];
  /** The postmaster of the cluster the apps use: it and its children are PostgreSQL's CPU (undefined: a server elsewhere). */
  postmaster?: number;
  /** The backends serving the harness's own queries (its end polling): its CPU, not the system's. */
  harnessBackends?: number[];
  /** The broker's JVM, when it runs on this machine from this checkout (undefined: its CPU is not measured). */
  kafka?: number;
}

/**
 * The other processes that matter, by kind: our cluster's PostgreSQL processes and our
 * broker (where the rest of the CPU goes), the backends of the harness's own queries (its
 * cost, not the system's), and Ordo apps, tools and test runs that are not
 * this run's (another test suite or benchmark competing for the cores, which the report must
 * mention). Another checkout's database or broker is none of these. Kind → pid → CPU ms so far;
 * the postmaster's figure includes the children it has reaped, so PostgreSQL's total over two
 * snapshots is exact even for backends and autovacuum workers that ended in between.
 */
type OtherKind = 'PostgreSQL' | 'Kafka' | 'foreign' | 'harness';

function otherProcesses(system: Processes, ours: Set<number>): Map<OtherKind, Map<number, number>> {
  const found = new Map<OtherKind, Map<number, number>>([
    ['PostgreSQL', new Map()],
    ['Kafka', new Map()],
    ['foreign', new Map()],
    ['harness', new Map()],
  ]);
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || ours.has(pid) || pid === process.pid) continue;
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const kind: OtherKind | null = system.harnessBackends?.includes(pid)
        ? 'harness'
        : pid === system.postmaster || parentPid(pid) === system.postmaster
          ? 'PostgreSQL'
          : pid === system.kafka
            ? 'Kafka'
            : args.some((a) => /dist\/(apps|tools)\/\w+\//.test(a)) || args[1]?.endsWith('.bin/jest')
              ? 'foreign'
              : null;
      if (kind) found.get(kind)!.set(pid, cpuMs(pid, pid === system.postmaster));
    } catch {
      // It ended meanwhile.
    }
  }
  return found;
}

/**
 * CPU ms of each kind between two snapshots. PostgreSQL: all of `after` less all of `before`
 * (a child that ended is in its postmaster's reaped time). The others: what each process
 * still running spent since `before` (all of it when it started in between).
 */
function spentBetween(before: Map<OtherKind, Map<number, number>>, after: Map<OtherKind, Map<number, number>>): (kind: OtherKind) => number {
  const sum = (pids: Map<number, number>) => [...pids.values()].reduce((a, b) => a + b, 0);
  return (kind) => {
    const [was, is] = [before.get(kind)!, after.get(kind)!];
    if (kind === 'PostgreSQL') return sum(is) - sum(was);
    return [...is].reduce((total, [pid, ms]) => total + ms - (was.get(pid) ?? 0), 0);
  };
}

export const HARNESS = 'bench harness';
const REST = 'everything else on the machine';

export interface Usage {
  /** CPU time per finished transaction, ms, by process: each app, PostgreSQL, Kafka, the harness (and the rest of the machine). */
  cpuMsPerTx: Record<string, number>;
  /** CPU time per finished transaction of the system under test: the apps, PostgreSQL and Kafka, not the harness. */
  systemCpuMsPerTx: number;
  /** Highest coordinator RSS sampled during the measurement, MB. */
  rssMb: number;
  /** Cores busy on average, by process: where the CPU time went. */
  cores: Record<string, number>;
  /** Cores the other Ordo processes (see otherProcesses) kept busy on average: contention. */
  others: number;
}

/** Runs `work`, sampling the coordinator's RSS and every process's CPU time around it. */
export async function metered<T extends { count: number }>(system: Processes, work: () => Promise<T>): Promise<T & Usage> {
  const coordinator = system.apps.find((app) => app.name === 'coordinator')!.pid;
  let rssMb = memoryMb(coordinator, 'VmRSS');
  const ours = new Set(system.apps.map((app) => app.pid));
  // Two snapshots, no sampling between them: scanning /proc every 200 ms cost the harness a
  // tenth of a core, taken from the system it measures.
  const othersBefore = otherProcesses(system, ours);
  const sampler = setInterval(() => (rssMb = Math.max(rssMb, memoryMb(coordinator, 'VmRSS'))), 200);
  const before = { at: Date.now(), machine: machineBusyMs(), harness: process.cpuUsage(), apps: system.apps.map(({ pid }) => cpuMs(pid)) };
  try {
    const result = await work();
    const wallMs = Date.now() - before.at;
    const harness = process.cpuUsage(before.harness);
    const apps = system.apps.map(({ name, pid }, i): [string, number] => [name, cpuMs(pid) - before.apps[i]]);
    const msOf = spentBetween(othersBefore, otherProcesses(system, ours));
    const harnessMs = (harness.user + harness.system) / 1000 + msOf('harness');
    const [postgresMs, kafkaMs, othersMs] = [msOf('PostgreSQL'), msOf('Kafka'), msOf('foreign')];
    const systemMs = apps.reduce((sum, [, ms]) => sum + ms, postgresMs + kafkaMs);
    const ms: [string, number][] = [
      ...apps,
      ['PostgreSQL', postgresMs],
      ['Kafka', kafkaMs],
      [HARNESS, harnessMs],
      [REST, Math.max(0, machineBusyMs() - before.machine - systemMs - harnessMs - othersMs)],
    ];
    const perTx = (n: number) => n / Math.max(1, result.count);
    return {
      ...result,
      cpuMsPerTx: Object.fromEntries(ms.map(([name, n]) => [name, perTx(n)])),
      systemCpuMsPerTx: perTx(systemMs),
      rssMb: Math.max(rssMb, memoryMb(coordinator, 'VmRSS')),
      cores: Object.fromEntries(ms.map(([name, n]) => [name, n / wallMs])),
      others: othersMs / wallMs,
    };
  } finally {
    clearInterval(sampler);
  }
}
