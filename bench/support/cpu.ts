/**
 * CPU time used by a process tree, grouped by what each process is (from its
 * command line), read from /proc: how much work one operation costs, summed
 * over every process that took part in it.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { processTree } from '../../test/support/processes.js';

const TICKS_PER_SECOND = 100;

function roleOf(pid: number, rootPid: number): string {
  if (pid === rootPid) return 'benchmark client';
  const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  if (/postgres/.test(cmd)) return 'postgres';
  if (/temporal server/.test(cmd)) return 'temporal server';
  if (/simProcess/.test(cmd)) return 'simulator';
  if (/api\/main\.ts/.test(cmd)) return 'api';
  if (/worker\/main\.ts|fakeWorker/.test(cmd)) return 'worker';
  if (/esbuild/.test(cmd)) return 'esbuild';
  return cmd.slice(0, 40);
}

/**
 * CPU ms of a /proc stat file: utime and stime (fields 14 and 15, 11 and 12
 * after the command), plus with `reaped` cutime and cstime (the children that
 * have exited and been waited for, such as Postgres backends that closed).
 */
function cpuMs(statFile: string, reaped: boolean): number {
  const fields = readFileSync(statFile, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]) + (reaped ? Number(fields[13]) + Number(fields[14]) : 0);
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** CPU used so far by each process of a tree (by pid), with its role. */
export type CpuReading = Map<number, { role: string; ms: number; reaped: boolean }>;

/**
 * What every process under `rootPid` has used so far. With `mainThread`, only
 * each process's main thread (where a Node process runs its JavaScript; V8's
 * compiler and GC helpers and libuv's pool are left out).
 */
export function readCpu(rootPid = process.pid, options: { mainThread?: boolean } = {}): CpuReading {
  const reading: CpuReading = new Map();
  for (const pid of processTree(rootPid)) {
    try {
      const ms = options.mainThread ? cpuMs(`/proc/${pid}/task/${pid}/stat`, false) : cpuMs(`/proc/${pid}/stat`, true);
      reading.set(pid, { role: roleOf(pid, rootPid), ms, reaped: !options.mainThread });
    } catch {
      /* exited */
    }
  }
  return reading;
}

/**
 * CPU ms used by each role between two readings. A process that exited in
 * between shows its whole life in its parent's reaped time (Postgres's
 * postmaster, for a backend that closed), so what it had used before the
 * first reading is taken off.
 */
export function cpuSince(before: CpuReading, after: CpuReading = readCpu()): Map<string, number> {
  const used = new Map<string, number>();
  const add = (role: string, ms: number) => used.set(role, (used.get(role) ?? 0) + ms);
  for (const [pid, { role, ms }] of after) add(role, ms - (before.get(pid)?.ms ?? 0));
  // (Main-thread readings leave reaped time out: an exited process's share is simply missing there.)
  for (const [pid, { role, ms, reaped }] of before) if (reaped && !after.has(pid)) add(role, -ms);
  return used;
}

/** Busy CPU ms of the whole machine (/proc/stat: all but idle and iowait) and of this run (this process and its descendants). */
export function cpuNow() {
  const times = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const machine = ((times.reduce((a, b) => a + b, 0) - times[3]! - times[4]!) * 1000) / 100;
  let run = 0;
  for (const { ms } of readCpu().values()) run += ms;
  return { machine, run, at: performance.now() };
}
/**
 * The share of the machine's CPU that processes outside this run used since
 * `before` (other people's work on the same cores skews the figures, their
 * p99 most).
 */
export function othersSince(before: ReturnType<typeof cpuNow>): string {
  const after = cpuNow();
  const share = (after.machine - before.machine - (after.run - before.run)) / ((after.at - before.at) * cpus().length);
  return `${(Math.max(0, share) * 100).toFixed(0)} %`;
}

/** CPU used per item since `before`, by process, and the share of the machine's cores this run kept busy over `elapsedMs`. */
export function cpuPer(before: CpuReading, count: number, elapsedMs: number, what: string): string {
  return cpuPerUsed(cpuSince(before), count, elapsedMs, what);
}

/** As cpuPer, for CPU used by role (cpuSince's, or several of them added up). */
export function cpuPerUsed(usedByRole: Map<string, number>, count: number, elapsedMs: number, what: string): string {
  const used = [...usedByRole].filter(([, ms]) => ms / count >= 0.05).sort((a, b) => b[1] - a[1]);
  const total = used.reduce((sum, [, ms]) => sum + ms, 0);
  const parts = used.map(([role, ms]) => `${role} ${(ms / count).toFixed(1)}`).join(', ');
  const busy = (total / (elapsedMs * cpus().length)) * 100;
  return `CPU per ${what} ${(total / count).toFixed(1)} ms (${parts}); this run kept ${busy.toFixed(0)} % of ${cpus().length} cores busy`;
}

/** Resident memory (VmRSS) of a process, in MB. */
export const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** Resident memory (MB) of this run's processes of `role` (see readCpu), summed. */
export function rssOfRole(role: string): number {
  let mb = 0;
  for (const [pid, reading] of readCpu()) {
    if (reading.role !== role) continue;
    try {
      mb += rssMb(pid);
    } catch {
      /* exited */
    }
  }
  return mb;
}
