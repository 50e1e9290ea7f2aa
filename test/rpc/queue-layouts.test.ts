/**
 * oslo.messaging 14.7+ queue layouts (rabbit_transient_quorum_queue, rabbit_stream_fanout,
 * use_queue_manager) and novarpc's rabbit_quorum_initial_group_size, checked flag by
 * flag against what the real broker says it holds (`rabbitmqctl list_queues` /
 * `list_exchanges`). The expected values are written out from oslo's impl_rabbit.py,
 * not computed from novarpc's own topology code.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { QueueNamer } from '../../src/rpc/drivers/amqp/queue-names.js';
import { getTransport, InvalidTransportUrl, RequestContext, resolveOptions, RpcClient, RpcServer, type Transport } from '../../src/rpc/index.js';
import { closeConnections } from '../support/broker-admin.js';
import { waitFor } from '../support/harness.js';
import { deleteBrokerObjects } from '../support/scratch.js';
import { brokerUrl } from '../support/services.js';

const run = promisify(execFile);
const context = new RequestContext({ userId: 'u', projectId: 'p' });

interface QueueRow {
  name: string;
  type: string;
  durable: boolean;
  auto_delete: boolean;
  arguments: Record<string, unknown>;
}

/** What the broker holds for queues whose names contain `needle`. */
async function brokerQueues(needle: string): Promise<QueueRow[]> {
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_queues', 'name', 'type', 'durable', 'auto_delete', 'arguments', '--formatter', 'json']);
  const rows = JSON.parse(stdout) as Array<Omit<QueueRow, 'arguments'> & { arguments: unknown }>;
  return rows.filter((row) => row.name.includes(needle)).map((row) => ({ ...row, arguments: argumentsOf(row.arguments) }));
}

/** rabbitmqctl prints arguments as a JSON object or as [name, type, value] triples. */
function argumentsOf(raw: unknown): Record<string, unknown> {
  if (Array.isArray(raw)) return Object.fromEntries(raw.map((entry) => [entry[0], entry[2]]));
  return (raw ?? {}) as Record<string, unknown>;
}

async function brokerExchange(name: string): Promise<{ type: string; durable: boolean; auto_delete: boolean } | undefined> {
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_exchanges', 'name', 'type', 'durable', 'auto_delete', '--formatter', 'json']);
  return (JSON.parse(stdout) as Array<{ name: string; type: string; durable: boolean; auto_delete: boolean }>).find((row) => row.name === name);
}

describe('queue layouts of oslo.messaging 14.7+ against the broker', () => {
  const suffix = randomBytes(4).toString('hex');
  const transports: Transport[] = [];
  const queues: string[] = [];
  const exchanges: string[] = [];

  afterEach(async () => {
    await Promise.all(transports.splice(0).map((transport) => transport.close()));
    const url = await brokerUrl();
    const leftovers = (await brokerQueues(suffix)).map((row) => row.name);
    await deleteBrokerObjects(url, [...queues.splice(0), ...leftovers], exchanges.splice(0));
    for (const file of readdirSync('/dev/shm')) if (file.includes(suffix)) rmSync(join('/dev/shm', file), { force: true });
  });

  /** A server and a client (one call made, so the reply queue exists) with `options`. */
  async function serveAndCall(name: string, options: Record<string, string | number | boolean>) {
    const topic = `layout_${name}_${suffix}`;
    const exchange = `layout_${name}_${suffix}`;
    queues.push(topic, `${topic}.s1`, `${topic}_fanout`);
    exchanges.push(exchange, `${topic}_fanout`);
    const url = await brokerUrl();
    const transport = (label: string) => {
      const created = getTransport(url, { options: { control_exchange: exchange, processname: `${label}-${suffix}`, ...options } });
      transports.push(created);
      return created;
    };
    const fanouts: string[] = [];
    const server = new RpcServer(transport('server'), { topic, server: 's1' }, [{ methods: { ping: () => 'pong', note: (_c, a) => void fanouts.push(String(a.tag)) } }]);
    await server.start();
    const client = new RpcClient(transport('client'), { topic }, { timeout: 10 });
    expect(await client.call(context, 'ping')).toBe('pong');
    return { topic, server, client, fanouts };
  }

  it('rabbit_transient_quorum_queue: reply and fanout queues are durable quorum queues with x-expires; the fanout exchange is durable', async () => {
    // Queue-manager names (with this file's host name) let the test find the reply queue.
    const host = `t${suffix}`;
    const { topic } = await serveAndCall('tq', { rabbit_transient_quorum_queue: true, rabbit_transient_queues_ttl: 60, use_queue_manager: true, hostname: host });
    const rows = await brokerQueues(suffix);
    const fanout = rows.find((row) => row.name.startsWith(`${topic}_fanout_`))!;
    const reply = rows.find((row) => row.name.startsWith('reply_'))!;
    for (const row of [fanout, reply]) {
      expect(row, 'queue exists').toBeDefined();
      expect(row.type).toBe('quorum');
      expect(row.durable).toBe(true);
      expect(row.auto_delete).toBe(false);
      expect(row.arguments).toEqual({ 'x-queue-type': 'quorum', 'x-expires': 60000 });
    }
    expect(await brokerExchange(`${topic}_fanout`)).toEqual({ name: `${topic}_fanout`, type: 'fanout', durable: true, auto_delete: true });
  });

  it('rabbit_stream_fanout: one durable stream <topic>_fanout with x-max-age; every server gets each fanout; a reconnect resumes after the last offset', async () => {
    const options = { rabbit_stream_fanout: true, rabbit_transient_quorum_queue: true, rabbit_qos_prefetch_count: 10, rabbit_transient_queues_ttl: 600 };
    const { topic, client, fanouts } = await serveAndCall('sf', options);
    const url = await brokerUrl();
    const second = getTransport(url, { options: { control_exchange: `layout_sf_${suffix}`, kombu_reconnect_delay: 1, ...options } });
    transports.push(second);
    const secondFanouts: string[] = [];
    const secondServer = new RpcServer(second, { topic, server: 's2' }, [{ methods: { note: (_c, a) => void secondFanouts.push(String(a.tag)) } }]);
    queues.push(`${topic}.s2`);
    await secondServer.start();

    const stream = (await brokerQueues(suffix)).find((row) => row.name === `${topic}_fanout`)!;
    expect(stream).toMatchObject({ type: 'stream', durable: true, auto_delete: false });
    expect(stream.arguments).toEqual({ 'x-queue-type': 'stream', 'x-max-age': '600s' });
    expect((await brokerQueues(`${topic}_fanout_`)).length, 'no per-server fanout queue').toBe(0);

    await client.prepare({ fanout: true }).cast(context, 'note', { tag: 'one' });
    await waitFor(() => fanouts.includes('one') && secondFanouts.includes('one'), 10_000, 'the fanout on both servers');
    // The second server loses its listening connection; fanouts sent meanwhile are read
    // from the stream when it is back, each once.
    await closeConnections(`:listen:${topic}.s2`);
    for (const tag of ['two', 'three']) await client.prepare({ fanout: true }).cast(context, 'note', { tag });
    await waitFor(() => secondFanouts.includes('three'), 20_000, 'the fanouts sent while the second server reconnected');
    await client.prepare({ fanout: true }).cast(context, 'note', { tag: 'four' });
    await waitFor(() => secondFanouts.includes('four') && fanouts.includes('four'), 10_000, 'a fanout after the reconnect');
    expect(secondFanouts).toEqual(['one', 'two', 'three', 'four']);
    expect(secondServer.stats.duplicates, 'nothing read twice after the reconnect').toBe(0);
    expect(fanouts).toEqual(['one', 'two', 'three', 'four']);
  }, 60_000);

  it('use_queue_manager: reply_<host>:<process>:<n> and <topic>_fanout_<host>:<process>:<n>, kept at stop', async () => {
    const host = `h${suffix}`;
    const { topic, server } = await serveAndCall('qm', { use_queue_manager: true, hostname: host, rabbit_quorum_queue: false, enable_cancel_on_failover: true });
    await server.stop();
    const names = (await brokerQueues(host)).map((row) => row.name).sort();
    expect(names).toEqual([`${topic}_fanout_${host}:server-${suffix}:1`, `reply_${host}:client-${suffix}:1`].sort());
  });

  it('rabbit_quorum_initial_group_size sets x-quorum-initial-group-size on quorum queues', async () => {
    const { topic } = await serveAndCall('gs', { rabbit_quorum_initial_group_size: 1 });
    const work = (await brokerQueues(suffix)).find((row) => row.name === topic)!;
    expect(work.arguments).toEqual({ 'x-queue-type': 'quorum', 'x-quorum-initial-group-size': 1 });
  });
});

describe('queue-manager counter and option combinations', () => {
  it('counts per host and process name in the file oslo uses, starting over for a new process group', () => {
    const directory = mkdtempSync(join(tmpdir(), 'qmanager-'));
    const options = resolveOptions({ use_queue_manager: true, hostname: 'node1', processname: 'nova-compute' });
    const first = new QueueNamer(options, directory);
    const second = new QueueNamer(options, directory);
    expect([first.reply(), second.fanout('compute'), first.fanout('compute')]).toEqual([
      'reply_node1:nova-compute:1',
      'compute_fanout_node1:nova-compute:2',
      'compute_fanout_node1:nova-compute:3',
    ]);
    const file = join(directory, 'node1_nova-compute_qmanager');
    expect(readFileSync(file, 'utf8')).toMatch(/^\d+:3:\d+$/);
    // Another process group (a restarted service) starts at 1 again.
    const [, , start] = readFileSync(file, 'utf8').split(':');
    writeFileSync(file, `999999999:7:${start}`);
    expect(first.reply()).toBe('reply_node1:nova-compute:1');
    rmSync(directory, { recursive: true, force: true });
  });

  it('never takes a name from a counter another live process group writes (two services, one processname)', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'qmanager-'));
    const options = resolveOptions({ use_queue_manager: true, hostname: 'node1', processname: 'nova-conductor' });
    const file = join(directory, 'node1_nova-conductor_qmanager');
    // Another service: a process group of its own (detached: it leads a new group), as a
    // Python nova-conductor started by its own unit would be.
    const other = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    try {
      const stat = readFileSync(`/proc/${other.pid}/stat`, 'utf8');
      const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
      writeFileSync(file, `${other.pid}:4:${start}`);
      const namer = new QueueNamer(options, directory);
      expect(() => namer.reply()).toThrow(InvalidTransportUrl);
      expect(() => namer.reply()).toThrow(/process group \d+ \(still running\).*set a processname of their own/);
      expect(readFileSync(file, 'utf8'), 'the other group keeps its counter').toBe(`${other.pid}:4:${start}`);
      // Same pid, other start time: a reused pid, not the same service: starts over.
      writeFileSync(file, `${other.pid}:4:${Number(start) + 1}`);
      expect(namer.reply()).toBe('reply_node1:nova-conductor:1');
      // Once that service is gone, its record is a stale one: a restart, counting from 1.
      writeFileSync(file, `${other.pid}:4:${start}`);
      other.kill('SIGKILL');
      await new Promise((resolve) => other.once('exit', resolve));
      expect(namer.fanout('conductor')).toBe('conductor_fanout_node1:nova-conductor:1');
    } finally {
      other.kill('SIGKILL');
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('refuses the combinations oslo refuses, and a delivery limit the dead-letter queue could not beat', () => {
    const refused = (options: Record<string, unknown>, pattern: RegExp) => {
      expect(() => resolveOptions(options)).toThrow(InvalidTransportUrl);
      expect(() => resolveOptions(options)).toThrow(pattern);
    };
    refused({ rabbit_stream_fanout: true, rabbit_transient_quorum_queue: true }, /rabbit_qos_prefetch_count > 0/);
    refused({ rabbit_stream_fanout: true, rabbit_qos_prefetch_count: 10 }, /needs rabbit_transient_quorum_queue=true/);
    refused({ rabbit_ha_queues: true, rabbit_quorum_queue: false, rabbit_transient_quorum_queue: true }, /mirrored or quorum/);
    refused({ enable_cancel_on_failover: true }, /classic mirrored queues only/);
    refused({ rabbit_quorum_delivery_limit: 3, max_delivery_attempts: 5 }, /must not exceed rabbit_quorum_delivery_limit \(3\)/);
    expect(resolveOptions({ rabbit_quorum_delivery_limit: 3, max_delivery_attempts: 3 }).rabbit_quorum_delivery_limit).toBe(3);
    // Without quorum queues the limit is not declared, so it does not constrain novarpc.
    expect(() => resolveOptions({ rabbit_quorum_queue: false, rabbit_quorum_delivery_limit: 3, max_delivery_attempts: 5 })).not.toThrow();
  });
});

