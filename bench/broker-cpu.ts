/**
 * CPU time of processes, read from /proc: the broker's Erlang VM (beam.smp, the
 * process that listens on the broker's AMQP port, or NOVARPC_BENCH_BROKER_PID), and
 * the benchmark's own clients and servers. The broker's is unavailable (undefined)
 * when the broker is not a process of this machine.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** Reads the broker process's user+system CPU seconds. */
export interface BrokerCpu {
  readonly pid: number;
  seconds(): number;
}

/** The broker process listening on `port`, when it runs on this machine. */
export function findBrokerCpu(port: number): BrokerCpu | undefined {
  const pid = Number(process.env.NOVARPC_BENCH_BROKER_PID) || listeningPid(port);
  if (!pid) return undefined;
  return { pid, seconds: () => processCpuSeconds(pid) };
}

/** A process's user+system CPU seconds so far (0 once it is gone). */
export function processCpuSeconds(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  // Fields after the command name (which may hold spaces): utime is the 14th field, stime the 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function listeningPid(port: number): number | undefined {
  try {
    const inodes = new Set<string>();
    const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
        const columns = line.trim().split(/\s+/);
        // local_address is "ADDR:PORT"; state 0A is LISTEN; column 9 is the socket inode.
        if (columns[1]?.endsWith(`:${hexPort}`) && columns[3] === '0A') inodes.add(`socket:[${columns[9]}]`);
      }
    }
    if (inodes.size === 0) return undefined;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let command: string;
      try {
        command = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      } catch {
        continue;
      }
      if (!command.startsWith('beam')) continue;
      try {
        for (const fd of readdirSync(`/proc/${entry}/fd`)) {
          if (inodes.has(readlinkSync(`/proc/${entry}/fd/${fd}`))) return Number(entry);
        }
      } catch {
        // a process that ended meanwhile, or one we may not look into
      }
    }
  } catch {
    // no /proc (not Linux)
  }
  return undefined;
}
