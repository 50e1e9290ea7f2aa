/**
 * The scale benchmark's view of the broker, through `rabbitmqctl` (no management
 * plugin needed): a virtual host of its own per run (so counting is a filter on the
 * vhost, and deleting it removes everything the run declared), and the queues,
 * connections, channels and consumers that belong to a set of processes.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function ctl(args: string[], tool = 'rabbitmqctl'): Promise<string> {
  const { stdout } = await run(tool, args, { maxBuffer: 256 * 1024 * 1024, timeout: 120_000 });
  return stdout;
}

async function ctlJson<T>(args: string[]): Promise<T[]> {
  const text = (await ctl(['-q', ...args, '--formatter', 'json'])).trim();
  return text ? (JSON.parse(text) as T[]) : [];
}

/** Creates `vhost` and lets `user` do everything in it. */
export async function addVhost(vhost: string, user = 'guest'): Promise<void> {
  await ctl(['-q', 'add_vhost', vhost]);
  await ctl(['-q', 'set_permissions', '-p', vhost, user, '.*', '.*', '.*']);
}

/** Deletes `vhost` and everything in it. */
export async function deleteVhost(vhost: string): Promise<void> {
  await ctl(['-q', 'delete_vhost', vhost]).catch(() => undefined);
}

/** Broker objects held by some processes. */
export interface BrokerFootprint {
  connections: number;
  channels: number;
  consumers: number;
  queues: number;
  /** Bytes of the queues' processes (`list_queues memory`). */
  queueMemoryBytes: number;
}

interface ConnectionInfo {
  pid: string;
  vhost: string;
  client_properties: unknown;
}

/**
 * What the OS processes `pids` hold in `vhost`: their connections (told by the
 * connection_name novarpc and oslo.messaging give, which carries the pid), the channels
 * and consumers on those, and the queues those consumers read (a queue many of them
 * share, like the `compute` topic queue, counts once). Without `pids`: everything in the vhost.
 */
export async function footprint(vhost: string, pids?: ReadonlySet<number>): Promise<BrokerFootprint> {
  const connections = (await ctlJson<ConnectionInfo>(['list_connections', 'pid', 'vhost', 'client_properties'])).filter((c) => c.vhost === vhost);
  const owned = new Set(
    connections
      .filter((c) => {
        if (!pids) return true;
        const name = /"connection_name","longstr","[^"]*?:(\d+):/.exec(JSON.stringify(c.client_properties));
        return name !== null && pids.has(Number(name[1]));
      })
      .map((c) => c.pid),
  );
  const channels = (await ctlJson<{ pid: string; connection: string; vhost: string }>(['list_channels', 'pid', 'connection', 'vhost'])).filter(
    (c) => c.vhost === vhost && owned.has(c.connection),
  );
  const channelPids = new Set(channels.map((c) => c.pid));
  const consumers = (await ctlJson<{ queue_name: string; channel_pid: string }>(['list_consumers', '-p', vhost, 'queue_name', 'channel_pid'])).filter((c) =>
    channelPids.has(c.channel_pid),
  );
  const queueNames = new Set(consumers.map((c) => c.queue_name));
  const queues = (await ctlJson<{ name: string; memory: number }>(['list_queues', '-p', vhost, 'name', 'memory'])).filter((q) => !pids || queueNames.has(q.name));
  return {
    connections: owned.size,
    channels: channels.length,
    consumers: consumers.length,
    queues: queues.length,
    queueMemoryBytes: queues.reduce((sum, q) => sum + (Number(q.memory) || 0), 0),
  };
}

const MEMORY_CATEGORIES = ['connection_readers', 'connection_writers', 'connection_channels', 'connection_other', 'queue_procs', 'quorum_queue_procs', 'quorum_ets'];

/**
 * The broker's memory for connections, channels and queues (memory_breakdown), in bytes.
 * Node-wide: other users of the broker move it too, so only a large difference means much.
 */
export async function brokerObjectMemory(): Promise<number> {
  const text = await ctl(['-q', 'memory_breakdown', '--unit', 'bytes', '--formatter', 'json'], 'rabbitmq-diagnostics');
  const breakdown = JSON.parse(text) as Record<string, { bytes: number }>;
  return MEMORY_CATEGORIES.reduce((sum, key) => sum + (breakdown[key]?.bytes ?? 0), 0);
}
