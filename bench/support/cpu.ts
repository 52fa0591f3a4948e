/**
 * CPU time used by a process tree, grouped by what each process is (from its
 * command line), read from /proc: how much work one operation costs, summed
 * over every process that took part in it.
 */
import { readFileSync } from 'node:fs';
import { processTree } from './processes.js';

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

/** CPU ms of a /proc stat file: utime and stime are fields 14 and 15 (11 and 12 after the command). */
function cpuMs(statFile: string): number {
  const fields = readFileSync(statFile, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/**
 * CPU milliseconds per role, for the whole tree under `rootPid`. With
 * `mainThread`, only each process's main thread (where a Node process runs
 * its JavaScript; V8's compiler and GC helpers and libuv's pool are left out).
 */
export function cpuByRole(rootPid = process.pid, options: { mainThread?: boolean } = {}): Map<string, number> {
  const byRole = new Map<string, number>();
  for (const pid of processTree(rootPid)) {
    try {
      const ms = cpuMs(options.mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`);
      const role = roleOf(pid, rootPid);
      byRole.set(role, (byRole.get(role) ?? 0) + ms);
    } catch {
      /* exited */
    }
  }
  return byRole;
}

/** What each role used between two readings. */
export function cpuSince(before: Map<string, number>, after: Map<string, number> = cpuByRole()): Map<string, number> {
  const used = new Map<string, number>();
  for (const [role, ms] of after) used.set(role, ms - (before.get(role) ?? 0));
  return used;
}
