/**
 * RPC benchmark: novarpc against a raw-amqplib baseline with the same guarantees
 * (same quorum queue and exchange flags, persistent messages, publisher confirms,
 * manual acks), measured in the same run against the same broker. Servers run in a
 * child process (bench/rpc-worker.ts), the client here.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import * as amqp from 'amqplib';
import { getTransport, RequestContext, RpcClient } from '../src/rpc/index.js';
import type { BenchRow, BenchSection } from './types.js';
import { toAmqpUrl } from './amqp-url.js';

/** Sizes of one run. */
export interface RpcBenchOptions {
  transportUrl: string;
  sequentialCalls?: number;
  concurrentCalls?: number;
  casts?: number;
  fanouts?: number;
  /** Calls for the RSS check (issue: 100k). */
  rssCalls?: number;
  /** Rounds; raw and novarpc alternate each round and the median is reported. */
  rounds?: number;
}

interface Figures {
  sequentialRate: number;
  p50: number;
  p99: number;
  concurrentRate: number;
  castRate: number;
  fanoutRate: number;
}

/** What a benchmark client does, novarpc or raw. */
interface BenchClient {
  call(value: number): Promise<unknown>;
  cast(value: number): Promise<void>;
  fanout(value: number): Promise<void>;
  close(): Promise<void>;
}

const CONCURRENCY = 64;

/** Runs the RPC benchmark and returns its report section. */
export async function runRpcBench(options: RpcBenchOptions): Promise<BenchSection> {
  const sizes = {
    sequential: options.sequentialCalls ?? 3000,
    concurrent: options.concurrentCalls ?? 20_000,
    casts: options.casts ?? 20_000,
    fanouts: options.fanouts ?? 3000,
    rss: options.rssCalls ?? 100_000,
  };
  const rounds = options.rounds ?? 3;
  const rawRounds: Figures[] = [];
  const novarpcRounds: Figures[] = [];
  let rss: { warm: number; end: number; growthPercent: number } | undefined;
  for (let round = 0; round < rounds; round++) {
    // Alternate who goes first, so drift on a shared machine hits both alike.
    const order: Array<'raw' | 'novarpc'> = round % 2 === 0 ? ['raw', 'novarpc'] : ['novarpc', 'raw'];
    for (const mode of order) {
      const last = mode === 'novarpc' && novarpcRounds.length === rounds - 1;
      const result = await measure(mode, options.transportUrl, { ...sizes, rss: last ? sizes.rss : 0 });
      (mode === 'raw' ? rawRounds : novarpcRounds).push(result.figures);
      rss ??= result.rss;
    }
  }
  const raw = { figures: medianFigures(rawRounds) };
  const novarpc = { figures: medianFigures(novarpcRounds), rss };
  const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
  const rows: BenchRow[] = [
    { name: 'sequential call', value: novarpc.figures.sequentialRate, unit: 'calls/s', baseline: raw.figures.sequentialRate, ratio: ratio(novarpc.figures.sequentialRate, raw.figures.sequentialRate), target: '>= 0.85' },
    { name: 'sequential call p50', value: novarpc.figures.p50, unit: 'ms', baseline: raw.figures.p50, ratio: ratio(raw.figures.p50, novarpc.figures.p50) },
    { name: 'sequential call p99', value: novarpc.figures.p99, unit: 'ms', baseline: raw.figures.p99, ratio: ratio(raw.figures.p99, novarpc.figures.p99) },
    { name: `concurrent call (${CONCURRENCY} in flight)`, value: novarpc.figures.concurrentRate, unit: 'calls/s', baseline: raw.figures.concurrentRate, ratio: ratio(novarpc.figures.concurrentRate, raw.figures.concurrentRate), target: '>= 0.85' },
    { name: 'confirmed cast', value: novarpc.figures.castRate, unit: 'casts/s', baseline: raw.figures.castRate, ratio: ratio(novarpc.figures.castRate, raw.figures.castRate), target: '>= 0.8' },
    { name: 'fanout cast to 4 servers (all delivered)', value: novarpc.figures.fanoutRate, unit: 'fanouts/s', baseline: raw.figures.fanoutRate, ratio: ratio(novarpc.figures.fanoutRate, raw.figures.fanoutRate) },
  ];
  if (novarpc.rss) {
    rows.push(
      { name: `worker RSS after warm-up (${sizes.rss / 10} calls)`, value: novarpc.rss.warm, unit: 'MiB' },
      { name: `worker RSS after ${sizes.rss} calls`, value: novarpc.rss.end, unit: 'MiB' },
      { name: 'worker RSS growth after warm-up', value: novarpc.rss.growthPercent, unit: '%', target: '<= 20' },
    );
  }
  return {
    title: 'RPC over RabbitMQ: novarpc vs raw amqplib (same flags, persistence, confirms)',
    rows,
    notes: [
      `median of ${rounds} rounds, raw and novarpc alternating; sizes per round: ${sizes.sequential} sequential calls, ${sizes.concurrent} concurrent calls, ${sizes.casts} casts, ${sizes.fanouts} fanouts x 4 servers`,
      'queues: quorum topic queue, durable topic exchange (novarpc defaults); persistent messages; publisher confirms on every publish',
      'servers in a child process; client in the benchmark process',
    ],
  };
}

async function measure(
  mode: 'novarpc' | 'raw',
  url: string,
  sizes: { sequential: number; concurrent: number; casts: number; fanouts: number; rss: number },
): Promise<{ figures: Figures; rss?: { warm: number; end: number; growthPercent: number } }> {
  const suffix = randomBytes(4).toString('hex');
  const exchange = `bench_${suffix}`;
  const topic = `bench_${mode}_${suffix}`;
  const worker = await startWorker(mode, url, exchange, topic);
  const client = mode === 'raw' ? await rawClient(url, exchange, topic) : novarpcClient(url, exchange, topic);
  try {
    await runConcurrent(500, CONCURRENCY, (i) => client.call(i)); // warm-up
    const latencies: number[] = [];
    const sequentialStart = performance.now();
    for (let i = 0; i < sizes.sequential; i++) {
      const started = performance.now();
      await client.call(i);
      latencies.push(performance.now() - started);
    }
    const sequentialRate = sizes.sequential / ((performance.now() - sequentialStart) / 1000);
    const concurrentRate = await rate(sizes.concurrent, () => runConcurrent(sizes.concurrent, CONCURRENCY, (i) => client.call(i)));
    const handledBefore = (await worker.stats()).handled;
    const castRate = await rate(sizes.casts, () => runConcurrent(sizes.casts, CONCURRENCY, (i) => client.cast(i)));
    await worker.waitUntil((stats) => stats.handled >= handledBefore + sizes.casts);
    const fanoutRate = await rate(sizes.fanouts, async () => {
      await runConcurrent(sizes.fanouts, CONCURRENCY, (i) => client.fanout(i));
      await worker.waitUntil((stats) => stats.fanout.every((count) => count >= sizes.fanouts));
    });
    latencies.sort((a, b) => a - b);
    const figures: Figures = {
      sequentialRate: Math.round(sequentialRate),
      p50: round2(latencies[Math.floor(latencies.length * 0.5)]!),
      p99: round2(latencies[Math.floor(latencies.length * 0.99)]!),
      concurrentRate: Math.round(concurrentRate),
      castRate: Math.round(castRate),
      fanoutRate: Math.round(fanoutRate),
    };
    if (mode === 'raw' || sizes.rss === 0) return { figures };
    await runConcurrent(sizes.rss / 10, CONCURRENCY, (i) => client.call(i));
    const warm = (await worker.stats(true)).rss;
    await runConcurrent(sizes.rss - sizes.rss / 10, CONCURRENCY, (i) => client.call(i));
    const end = (await worker.stats(true)).rss;
    const mib = (bytes: number) => round2(bytes / 1024 / 1024);
    return { figures, rss: { warm: mib(warm), end: mib(end), growthPercent: round2(((end - warm) / warm) * 100) } };
  } finally {
    await client.close();
    await worker.close();
    await deleteBenchEntities(url, exchange, topic);
  }
}

function novarpcClient(url: string, exchange: string, topic: string): BenchClient {
  const separator = url.includes('?') ? '&' : '?';
  const transport = getTransport(`${url}${separator}control_exchange=${exchange}&rabbit_transient_queues_ttl=120`);
  const client = new RpcClient(transport, { topic }, { timeout: 60 });
  const fanout = client.prepare({ fanout: true });
  const context = new RequestContext({ userId: 'bench', projectId: 'bench' });
  return {
    call: (value) => client.call(context, 'echo', { value }),
    cast: (value) => client.cast(context, 'cast', { value }),
    fanout: (value) => fanout.cast(context, 'fan', { value }),
    close: () => transport.close(),
  };
}

async function rawClient(url: string, exchange: string, topic: string): Promise<BenchClient> {
  const publishConnection = await amqp.connect(toAmqpUrl(url), { noDelay: true });
  const replyConnection = await amqp.connect(toAmqpUrl(url), { noDelay: true });
  const publisher = await publishConnection.createConfirmChannel();
  const replies = await replyConnection.createChannel();
  const replyQueue = `reply_raw_${randomBytes(8).toString('hex')}`;
  await replies.assertQueue(replyQueue, { durable: false, autoDelete: false, arguments: { 'x-expires': 120_000 } });
  await publisher.assertExchange(exchange, 'topic', { durable: true, autoDelete: false });
  await publisher.assertExchange(`${topic}_fanout`, 'fanout', { durable: false, autoDelete: true });
  const waiting = new Map<string, (value: unknown) => void>();
  await replies.consume(replyQueue, (message) => {
    if (!message) return;
    replies.ack(message);
    const reply = JSON.parse(message.content.toString('utf8')) as { id: string; result: unknown };
    waiting.get(reply.id)?.(reply.result);
    waiting.delete(reply.id);
  });
  let nextId = 0;
  // The same data novarpc carries (method, args, the request context), encoded once as
  // plain JSON: what is measured is the framework's overhead, not a smaller payload.
  const context = new RequestContext({ userId: 'bench', projectId: 'bench' }).toDict();
  const publish = (target: string, key: string, body: object, expiration?: string) =>
    new Promise<void>((resolve, reject) =>
      publisher.publish(target, key, Buffer.from(JSON.stringify(body)), { contentType: 'application/json', deliveryMode: 2, expiration }, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
  return {
    async call(value) {
      const id = String(nextId++);
      const reply = new Promise((resolve) => waiting.set(id, resolve));
      await publish(exchange, topic, { id, replyTo: replyQueue, method: 'echo', args: { value }, context }, '60000');
      return reply;
    },
    cast: (value) => publish(exchange, topic, { method: 'cast', args: { value }, context }),
    fanout: (value) => publish(`${topic}_fanout`, '', { method: 'fan', args: { value }, context }),
    async close() {
      await publishConnection.close();
      await replyConnection.close();
    },
  };
}

interface WorkerStats {
  handled: number;
  fanout: number[];
  rss: number;
}

async function startWorker(mode: string, url: string, exchange: string, topic: string) {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', 'bench/rpc-worker.ts', `--mode=${mode}`, `--url=${url}`, `--exchange=${exchange}`, `--topic=${topic}`, '--fanout=4'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => JSON.parse(((await lines.next()).value as string) ?? '{}') as Record<string, unknown>;
  const ready = await next();
  if (!ready.ready) throw new Error(`benchmark worker (${mode}) did not start`);
  const stats = async (collectGarbage = false): Promise<WorkerStats> => {
    if (collectGarbage) {
      child.stdin.write('gc\n');
      await next();
    }
    child.stdin.write('stats\n');
    return (await next()) as unknown as WorkerStats;
  };
  return {
    stats,
    async waitUntil(predicate: (stats: WorkerStats) => boolean, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(await stats())) {
        if (Date.now() > deadline) throw new Error('benchmark worker did not catch up in time');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async close() {
      child.stdin.write('exit\n');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

async function deleteBenchEntities(url: string, exchange: string, topic: string): Promise<void> {
  const connection = await amqp.connect(toAmqpUrl(url));
  const channel = await connection.createChannel();
  channel.on('error', () => {});
  for (const queue of [topic, ...Array.from({ length: 4 }, (_, i) => `${topic}.bench${i}`)]) await channel.deleteQueue(queue).catch(() => {});
  await channel.deleteExchange(exchange).catch(() => {});
  await connection.close().catch(() => {});
}

async function runConcurrent(total: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (next < total) await task(next++);
    }),
  );
}

async function rate(count: number, work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return count / ((performance.now() - started) / 1000);
}

function medianFigures(rounds: Figures[]): Figures {
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const keys = Object.keys(rounds[0]!) as Array<keyof Figures>;
  return Object.fromEntries(keys.map((key) => [key, median(rounds.map((figures) => figures[key]))])) as unknown as Figures;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
