/**
 * A stock nova.conf works as it is, on the real broker: `novarpc scheduler
 * --config-file nova.conf` with `[oslo_messaging_rabbit] rabbit_quorum_queue = false`
 * declares classic queues, and without that line quorum queues (novarpc's default).
 * The type of a declared queue is read back the management-free way: a redeclaration
 * with the other `x-queue-type` is refused (406), with the same one accepted.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toAmqpUrl } from '../support/harness.js';
import { novaDocConf } from '../support/nova-conf.js';
import { brokerUrl, databaseUrl } from '../support/services.js';
import { createDatabase, deleteBrokerObjects, startWorker, suffix, type Worker } from './processes.js';

const STARTUP_BOUND_MS = 60_000;

/**
 * 'quorum' or 'classic', as the broker has the queue; undefined when it does not exist.
 * A classic redeclaration succeeds on a classic queue (durable or not), and is refused
 * on a quorum queue with "inequivalent arg 'x-queue-type' ... current is 'quorum'".
 */
async function queueType(url: string, queue: string): Promise<string | undefined> {
  const connection = await amqp.connect(toAmqpUrl(url));
  const redeclareClassic = async (durable: boolean): Promise<string | undefined> => {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    try {
      await channel.assertQueue(queue, { durable, arguments: { 'x-queue-type': 'classic' } });
      await channel.close();
      return undefined;
    } catch (error) {
      const message = String((error as Error).message);
      if (!/PRECONDITION.FAILED/.test(message)) throw error;
      return message;
    }
  };
  try {
    const probe = await connection.createChannel();
    probe.on('error', () => undefined);
    if (!(await probe.checkQueue(queue).then(() => true, () => false))) return undefined;
    await probe.close().catch(() => undefined);
    for (const durable of [true, false]) {
      const refusal = await redeclareClassic(durable);
      if (refusal === undefined) return 'classic';
      const current = /inequivalent arg 'x-queue-type'.*current is '(\w+)'/.exec(refusal);
      if (current) return current[1];
    }
    throw new Error(`cannot tell the type of queue ${queue}`);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

describe('a stock nova.conf on the real broker', () => {
  const id = suffix();
  const exchange = `nova_conf_${id}`;
  const workers: Worker[] = [];
  const queues: string[] = [];
  let transportUrl = '';
  let database: { url: string; drop(): Promise<void> } | undefined;
  let dir = '';

  beforeAll(async () => {
    transportUrl = await brokerUrl();
    database = await createDatabase(await databaseUrl(), 'novarpc_conf');
    dir = await mkdtemp(join(tmpdir(), 'novarpc-nova-conf-'));
  });

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    if (transportUrl) await deleteBrokerObjects(transportUrl, queues, [exchange]);
    await database?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, STARTUP_BOUND_MS);

  /** Runs a scheduler from a nova.conf with `quorumLine`; resolves with the types of its topic and server queues. */
  const schedulerQueues = async (name: string, quorumLine: string) => {
    const topic = `scheduler_${name}_${id}`;
    const host = `conf-${name}`;
    queues.push(topic, `${topic}.${host}`);
    const file = join(dir, `${name}.conf`);
    const extraDefault = [`control_exchange = ${exchange}`, `scheduler_topic = ${topic}`, 'graceful_shutdown_timeout = 5', 'debug = false'].join('\n');
    await writeFile(file, novaDocConf({ transportUrl, databaseUrl: database!.url, quorumLine, extraDefault, extraDatabase: 'auto_migrate = true\nconnection_debug = 0' }));
    const worker = startWorker(name, ['scheduler', '--host', host, '--config-file', file], {});
    workers.push(worker);
    const deadline = Date.now() + STARTUP_BOUND_MS;
    while (!worker.lines.some((line) => line.msg === 'service started')) {
      if (worker.process.exitCode !== null || Date.now() > deadline) {
        throw new Error(`${name} did not start: ${JSON.stringify(worker.lines.slice(-5))} ${worker.stderr.join('')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { worker, types: [await queueType(transportUrl, topic), await queueType(transportUrl, `${topic}.${host}`)] };
  };

  it('rabbit_quorum_queue = false gives classic queues, and the file is read without errors', { timeout: 2 * STARTUP_BOUND_MS }, async () => {
    const { worker, types } = await schedulerQueues('classic', 'rabbit_quorum_queue = false');
    expect(types).toEqual(['classic', 'classic']);
    const notices = worker.lines.filter((line) => line.level === 40 && String(line.msg).includes('classic.conf'));
    expect(notices.map((line) => line.msg)).toEqual([expect.stringMatching(/read, not used by novarpc: .*\[glance\].*\[keystone_authtoken\]/)]);
  });

  it('without it, the default is quorum queues', { timeout: 2 * STARTUP_BOUND_MS }, async () => {
    const { types } = await schedulerQueues('quorum', '');
    expect(types).toEqual(['quorum', 'quorum']);
  });
});
