/**
 * Names of per-process queues: `reply_<uuid hex>` and `<topic>_fanout_<uuid hex>`, or
 * with `use_queue_manager` (oslo.messaging 14.7+) `reply_<host>:<process>:<n>` and
 * `<topic>_fanout_<host>:<process>:<n>`, so a restarted service finds its queues again.
 *
 * The counter `<n>` is shared by the processes of one host and process name through
 * the same file oslo uses (`/dev/shm/<host>_<process>_qmanager`, "pgid:counter:start"),
 * and starts over when the process group (a service restart) changes. The file is
 * updated under an exclusive lock file of novarpc's own: oslo's lock is a POSIX record
 * lock (fcntl) on `<lock_path>/oslo_read_shm_<host>_<process>`, which Node cannot take.
 *
 * Names of two processes collide only when they share host and process name (the file
 * and the name prefix). Within one process group the counter is shared; but two live
 * process groups on one file restart each other's counter at 1 (oslo's rule: another
 * group means a restarted service) and both hand out `<host>:<process>:1`. So a name is
 * never taken from a file whose last writer is another process group still alive: that
 * is a process name used by two services, refused with a clear error. novarpc's
 * services default to `novarpc-<command>`, never a Python service's name.
 * (docs/queue-layouts.md, "use_queue_manager next to Python services".)
 */
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename } from 'node:path';
import { InvalidTransportUrl } from '../../errors.js';
import { uuidHex } from '../../wire/messages.js';
import type { TransportOptions } from '../../transport-options.js';

/** Hands out reply and fanout queue names for one transport. */
export class QueueNamer {
  private readonly manager: QueueManagerCounter | undefined;

  constructor(options: TransportOptions, directory = '/dev/shm') {
    if (!options.use_queue_manager) return;
    const host = options.hostname || hostname();
    const process = options.processname || basename(globalThis.process.argv[1] ?? 'node');
    this.manager = new QueueManagerCounter(host, process, directory);
  }

  /** The name of this process's reply queue. */
  reply(): string {
    return `reply_${this.unique()}`;
  }

  /** The name of a server's own fanout queue for `topic`. */
  fanout(topic: string): string {
    return `${topic}_fanout_${this.unique()}`;
  }

  private unique(): string {
    return this.manager ? this.manager.next() : uuidHex();
  }
}

/** oslo's QManager counter, in the same file format. */
class QueueManagerCounter {
  private readonly file: string;
  private readonly group = processGroup();

  constructor(
    private readonly host: string,
    private readonly process: string,
    directory: string,
  ) {
    this.file = `${directory}/${host}_${process}_qmanager`;
  }

  next(): string {
    const counter = withLock(`${this.file}.novarpc-lock`, () => {
      const [group, count, start] = readCounter(this.file);
      if (group > 0 && group !== this.group.id && groupAlive(group, start)) {
        throw new InvalidTransportUrl(
          `use_queue_manager: process group ${group} (still running) also names its queues "${this.host}:${this.process}:<n>" from ${this.file}; ` +
            'two services with one hostname and processname would take the same queue names: set a processname of their own ([oslo_messaging_rabbit] processname)',
        );
      }
      const value = group === this.group.id && start === this.group.start ? count + 1 : 1;
      writeFileSync(this.file, `${this.group.id}:${value}:${this.group.start}`);
      return value;
    });
    return `${this.host}:${this.process}:${counter}`;
  }
}

function readCounter(file: string): [number, number, number] {
  try {
    const parts = readFileSync(file, 'utf8').trim().split(':').map(Number);
    if (parts.length === 3 && parts.every(Number.isInteger)) return parts as [number, number, number];
  } catch {
    // no counter yet
  }
  return [-1, 0, -1];
}

/**
 * Whether process group `id` still runs, started at `start` (jiffies since boot, as the
 * counter file records it): a pid reused since by another group does not count.
 */
function groupAlive(id: number, start: number): boolean {
  try {
    process.kill(-id, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${id}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]) === start;
  } catch {
    return true; // the group's leader exited, members remain
  }
}

/** The process group id and its leader's start time (/proc), as oslo reads them. */
function processGroup(): { id: number; start: number } {
  try {
    const ownStat = readFileSync('/proc/self/stat', 'utf8');
    const id = Number(ownStat.slice(ownStat.lastIndexOf(')') + 2).split(' ')[2]) || process.pid;
    const stat = readFileSync(`/proc/${id}/stat`, 'utf8');
    return { id, start: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]) };
  } catch {
    return { id: process.pid, start: 0 };
  }
}

/** Runs `action` holding an exclusive lock file; a lock older than 10 s is stale. */
function withLock<T>(lockFile: string, action: () => T): T {
  for (let attempt = 0; ; attempt++) {
    try {
      closeSync(openSync(lockFile, 'wx'));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 1000) throw error;
      const stat = statSync(lockFile, { throwIfNoEntry: false });
      if (stat && Date.now() - stat.mtimeMs > 10_000) unlinkSync(lockFile);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
  try {
    return action();
  } finally {
    unlinkSync(lockFile);
  }
}
