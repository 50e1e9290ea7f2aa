/**
 * What each delivery guarantee costs, measured with bare amqplib so only the broker
 * features differ: the floor (transient messages, no confirms, small body, replies
 * without acks, classic queue), then one feature added at a time (publisher confirms,
 * persistent messages, an oslo-sized body, acked replies), all of novarpc's classic
 * features at once, and the request queue as a quorum queue (whose log is fsynced
 * before a message is delivered). Variants alternate slice by slice; client and
 * server run in this process, each on its own connection.
 */
import * as amqp from 'amqplib';
import { randomBytes } from 'node:crypto';
import { toAmqpUrl } from '../test/support/harness.js';
import { findBrokerCpu } from './broker-cpu.js';
import type { BenchSection } from './types.js';

/** Sizes of one run. */
export interface PeersCostsOptions {
  transportUrl: string;
  /** Calls per variant at 64 in flight. */
  calls?: number;
  /** Sequential calls per variant. */
  sequentialCalls?: number;
  rounds?: number;
}

interface Features {
  confirms?: boolean;
  persistent?: boolean;
  /** A body of about the size of an oslo call with its context (~1 KiB). */
  osloSized?: boolean;
  replyAcks?: boolean;
  quorum?: boolean;
}

const VARIANTS: ReadonlyArray<readonly [string, Features]> = [
  ['floor (no confirms, transient, small body, classic)', {}],
  ['+ publisher confirms (request and reply)', { confirms: true }],
  ['+ persistent messages (delivery mode 2)', { persistent: true }],
  ['+ oslo-sized body (~1 KiB)', { osloSized: true }],
  ['+ acked replies', { replyAcks: true }],
  ['all of the above (novarpc, stock options)', { confirms: true, persistent: true, osloSized: true, replyAcks: true }],
  ['quorum request queue only', { quorum: true }],
  ['all of the above + quorum (novarpc defaults)', { confirms: true, persistent: true, osloSized: true, replyAcks: true, quorum: true }],
];

const CONCURRENCY = 64;
const PADDING = 'x'.repeat(900);

interface Variant {
  call(): Promise<void>;
  close(): Promise<void>;
}

async function openVariant(url: string, features: Features): Promise<Variant> {
  const queue = `peers_cost_${randomBytes(4).toString('hex')}`;
  const serverConnection = await amqp.connect(url, { noDelay: true });
  const clientConnection = await amqp.connect(url, { noDelay: true });
  const open = (connection: amqp.ChannelModel) => (features.confirms ? connection.createConfirmChannel() : connection.createChannel());
  const serverIn = await serverConnection.createChannel();
  const serverOut = await open(serverConnection);
  const clientIn = await clientConnection.createChannel();
  const clientOut = await open(clientConnection);
  await serverIn.assertQueue(queue, features.quorum ? { durable: true, arguments: { 'x-queue-type': 'quorum' } } : { durable: false, autoDelete: true });
  await serverIn.prefetch(CONCURRENCY);
  const body = (value: string) => Buffer.from(JSON.stringify({ value, padding: features.osloSized ? PADDING : '' }));
  const publish = (channel: amqp.Channel, key: string, content: Buffer, properties: amqp.Options.Publish) => {
    const options = { ...properties, deliveryMode: features.persistent ? 2 : 1 };
    if (features.confirms) (channel as amqp.ConfirmChannel).publish('', key, content, options, () => {});
    else channel.publish('', key, content, options);
  };
  await serverIn.consume(queue, (message) => {
    if (!message) return;
    const request = JSON.parse(message.content.toString('utf8')) as { value: string };
    publish(serverOut, message.properties.replyTo as string, body(request.value), { correlationId: message.properties.correlationId as string });
    serverIn.ack(message);
  });
  const { queue: replyQueue } = await clientIn.assertQueue('', { exclusive: true });
  const waiting = new Map<string, () => void>();
  await clientIn.consume(
    replyQueue,
    (message) => {
      if (!message) return;
      if (features.replyAcks) clientIn.ack(message);
      const id = message.properties.correlationId as string;
      waiting.get(id)?.();
      waiting.delete(id);
    },
    { noAck: !features.replyAcks },
  );
  let nextId = 0;
  return {
    call: () =>
      new Promise<void>((resolve) => {
        const id = String(nextId++);
        waiting.set(id, resolve);
        publish(clientOut, queue, body(id), { replyTo: replyQueue, correlationId: id });
      }),
    async close() {
      await serverIn.deleteQueue(queue).catch(() => {});
      await clientConnection.close().catch(() => {});
      await serverConnection.close().catch(() => {});
    },
  };
}

/** Runs the guarantee-cost ladder and returns its report section. */
export async function runPeersCostsBench(options: PeersCostsOptions): Promise<BenchSection> {
  const calls = options.calls ?? 10_000;
  const sequential = options.sequentialCalls ?? 1000;
  const rounds = options.rounds ?? 4;
  const url = toAmqpUrl(options.transportUrl);
  const port = Number(/:(\d+)\//.exec(url)?.[1] ?? 5672);
  const cpu = findBrokerCpu(port);
  const opened: Variant[] = [];
  try {
    for (const [, features] of VARIANTS) opened.push(await openVariant(url, features));
    const tallies = opened.map(() => ({ ms: 0, cpu: 0, calls: 0, latencies: [] as number[] }));
    for (const variant of opened) await runConcurrent(300, () => variant.call());
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < opened.length; i++) {
        const index = (i + round) % opened.length;
        const variant = opened[index]!;
        const tally = tallies[index]!;
        const count = Math.ceil(calls / rounds);
        const before = cpu?.seconds() ?? 0;
        const started = performance.now();
        await runConcurrent(count, () => variant.call());
        tally.ms += performance.now() - started;
        tally.cpu += (cpu?.seconds() ?? 0) - before;
        tally.calls += count;
        for (let n = 0; n < Math.ceil(sequential / rounds); n++) {
          const callStarted = performance.now();
          await variant.call();
          tally.latencies.push(performance.now() - callStarted);
        }
      }
    }
    const floorRate = tallies[0]!.calls / tallies[0]!.ms;
    const rows = VARIANTS.map(([name], index) => {
      const tally = tallies[index]!;
      const sorted = [...tally.latencies].sort((a, b) => a - b);
      return [
        name,
        String(Math.round((tally.calls / tally.ms) * 1000)),
        `${Math.round((tally.calls / tally.ms / floorRate) * 100) / 100}x`,
        cpu ? String(Math.round((tally.cpu / tally.calls) * 1000 * 1000) / 1000) : 'n/a',
        String(Math.round(sorted[Math.floor(sorted.length / 2)]! * 100) / 100),
        String(Math.round(sorted[Math.floor(sorted.length * 0.99)]! * 100) / 100),
      ];
    });
    return {
      title: 'What each guarantee costs: bare amqplib calls with one broker feature added at a time',
      rows: [],
      table: { columns: ['variant', `calls/s (${CONCURRENCY})`, 'vs floor', 'broker CPU s/1k calls', 'seq p50 ms', 'seq p99 ms'], rows },
      notes: [
        `per variant: ${calls} calls at ${CONCURRENCY} in flight and ${sequential} sequential calls, ${rounds} slices, variants alternating; client and server in one process`,
        'confirms: the client waits for no confirm (only the reply), so their cost shows as broker and client work, not latency',
        cpu ? `broker CPU: utime+stime of the broker process (pid ${cpu.pid}); the broker is shared, other traffic adds noise` : 'broker CPU: not available',
      ],
    };
  } finally {
    for (const variant of opened) await variant.close();
  }
}

async function runConcurrent(total: number, task: () => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, total) }, async () => {
      while (next++ < total) await task();
    }),
  );
}
