import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/**
 * Where a run's CPU went, per request and per part of the system, read from /proc (Linux): each
 * part is a set of processes (a service and everything it forked, a process group, the processes
 * of one program), and its CPU is their user + system time, every thread counted. On a machine the
 * whole system shares, what a request costs in all is what bounds req/s; these figures say which
 * part of it a gateway adds and which every gateway pays alike.
 */

/** A part of the system: the processes `pids`, those rooted at `roots` (with their descendants), those in process group `group`, and those named `comm`. */
export interface CpuPart {
  name: string;
  pids?: readonly number[];
  roots?: readonly number[];
  group?: number;
  comm?: RegExp;
}

interface Proc {
  ppid: number;
  pgrp: number;
  comm: string;
  /** utime + stime, in clock ticks. */
  ticks: number;
}

let ticksPerSecond: number | undefined;
const clockTicks = () => (ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100);

/** Every process's CPU time so far; null where there is no /proc. */
function processes(): Map<number, Proc> | null {
  if (!existsSync('/proc/self/stat')) return null;
  const all = new Map<number, Proc>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // The command name is in parentheses and may hold spaces; after it: state, ppid, pgrp, ... utime (14th field), stime (15th).
    const close = stat.lastIndexOf(')');
    const f = stat.slice(close + 2).split(' ');
    all.set(Number(entry), { comm: stat.slice(stat.indexOf('(') + 1, close), ppid: Number(f[1]), pgrp: Number(f[2]), ticks: Number(f[11]) + Number(f[12]) });
  }
  return all;
}

/** Each part's CPU time so far, in ms (a process in two parts counts in the first). */
function sample(parts: readonly CpuPart[]): number[] | null {
  const all = processes();
  if (!all) return null;
  const children = new Map<number, number[]>();
  for (const [pid, p] of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), pid]);
  const counted = new Set<number>();
  const ms = 1000 / clockTicks();
  return parts.map((part) => {
    const pids = new Set<number>();
    const tree = (pid: number) => {
      if (pids.has(pid) || !all.has(pid)) return;
      pids.add(pid);
      for (const child of children.get(pid) ?? []) tree(child);
    };
    for (const pid of part.pids ?? []) if (all.has(pid)) pids.add(pid);
    for (const root of part.roots ?? []) tree(root);
    for (const [pid, p] of all) if ((part.group !== undefined && p.pgrp === part.group) || part.comm?.test(p.comm)) pids.add(pid);
    let ticks = 0;
    for (const pid of pids) {
      if (counted.has(pid)) continue;
      counted.add(pid);
      ticks += all.get(pid)!.ticks;
    }
    return ticks * ms;
  });
}

/** Each part's CPU from `start()` on, as ms per request over `requests` requests; null where there is no /proc. */
export interface CpuReading {
  start(): void;
  perRequest(requests: number): number[] | null;
}

export function cpuReading(parts: readonly CpuPart[]): CpuReading {
  let before: number[] | null = null;
  return {
    start: () => {
      before = sample(parts);
    },
    perRequest: (requests) => {
      const after = before && sample(parts);
      return after && after.map((v, i) => (requests > 0 ? (v - before![i]!) / requests : Number.NaN));
    },
  };
}
