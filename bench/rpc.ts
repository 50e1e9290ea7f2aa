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
import { nodeArgsFor } from './entry.js';
import { toAmqpUrl } from '../test/support/harness.js';
import { spanCounts, startOtlpSink, telemetryConfig, type TelemetryMode } from './telemetry.js';

/** Sizes of one run. */
export interface RpcBenchOptions {
  transportUrl: string;
  sequentialCalls?: number;
  concurrentCalls?: number;
  casts?: number;
  fanouts?: number;
  /** Calls for the RSS check (issue: 100k). */
  rssCalls?: number;
  /** Slices per figure; raw and novarpc alternate slice by slice. */
  rounds?: number;
  /** Calls per slice of the sequential figure (finer, as its latency drifts fastest). */
  sequentialSlice?: number;
  /**
   * Compare novarpc with telemetry against novarpc without (instead of raw amqplib
   * against novarpc): `metrics` (metrics on, tracing off) or `tracing` (always-on
   * sampler, batch exporter to a local OTLP receiver).
   */
  telemetry?: Exclude<TelemetryMode, 'off'>;
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
    sequential: options.sequentialCalls ?? 6000,
    concurrent: options.concurrentCalls ?? 20_000,
    casts: options.casts ?? 20_000,
    fanouts: options.fanouts ?? 3000,
    rss: options.rssCalls ?? 100_000,
  };
  const slices = options.rounds ?? 6;
  const sink = options.telemetry === 'tracing' ? await startOtlpSink() : undefined;
  const sides = options.telemetry
    ? [await openSide('novarpc', options.transportUrl, 'off'), await openSide('novarpc', options.transportUrl, options.telemetry, sink?.url)]
    : [await openSide('raw', options.transportUrl), await openSide('novarpc', options.transportUrl)];
  try {
    for (const side of sides) await runConcurrent(500, CONCURRENCY, (i) => side.client.call(i)); // warm-up
    // Every figure is measured in slices, raw and novarpc alternating (who goes first
    // alternates too), so drift in the machine's load hits both sides alike.
    const inSlices = async (total: number, work: (side: Side, count: number) => Promise<void>, count = slices) => {
      for (let slice = 0; slice < count; slice++) {
        const order = slice % 2 === 0 ? sides : [...sides].reverse();
        for (const side of order) await work(side, Math.ceil(total / count));
      }
    };
    // Sequential latency follows the machine's load within a second or two, so that
    // figure alternates in small slices.
    const sequentialSlices = Math.max(slices, Math.round(sizes.sequential / (options.sequentialSlice ?? 100)));
    await inSlices(sizes.sequential, async (side, count) => {
      for (let i = 0; i < count; i++) {
        const started = performance.now();
        await side.client.call(i);
        side.latencies.push(performance.now() - started);
      }
    }, sequentialSlices);
    await inSlices(sizes.concurrent, async (side, count) => {
      side.time.concurrent += await elapsed(() => runConcurrent(count, CONCURRENCY, (i) => side.client.call(i)));
      side.counts.concurrent += count;
    });
    await inSlices(sizes.casts, async (side, count) => {
      const before = (await side.worker.stats()).handled;
      side.time.casts += await elapsed(() => runConcurrent(count, CONCURRENCY, (i) => side.client.cast(i)));
      side.counts.casts += count;
      await side.worker.waitUntil((stats) => stats.handled >= before + count); // drained before the other side runs
    });
    await inSlices(sizes.fanouts, async (side, count) => {
      const before = (await side.worker.stats()).fanout.map((n) => n);
      side.time.fanouts += await elapsed(async () => {
        await runConcurrent(count, CONCURRENCY, (i) => side.client.fanout(i));
        await side.worker.waitUntil((stats) => stats.fanout.every((n, server) => n >= before[server]! + count));
      });
      side.counts.fanouts += count;
    });
    const rss = sizes.rss > 0 && !options.telemetry ? await measureRss(sides[1]!, sizes.rss) : undefined;
    const section = report(sides[0]!, sides[1]!, rss, sizes, slices, sequentialSlices);
    if (!options.telemetry) return section;
    const spans = sink === undefined ? undefined : { client: { ...spanCounts }, worker: (await sides[1]!.worker.stats()).spans ?? { ended: 0, exported: 0 } };
    return telemetrySection(section, options.telemetry, await sink?.bytes(), spans);
  } finally {
    for (const side of sides) await side.close();
    await sink?.close();
  }
}

interface Side {
  mode: 'raw' | 'novarpc';
  client: BenchClient;
  worker: Awaited<ReturnType<typeof startWorker>>;
  latencies: number[];
  time: { concurrent: number; casts: number; fanouts: number };
  counts: { concurrent: number; casts: number; fanouts: number };
  close(): Promise<void>;
}

async function openSide(mode: 'raw' | 'novarpc', url: string, telemetry?: TelemetryMode, otlpUrl?: string): Promise<Side> {
  const suffix = randomBytes(4).toString('hex');
  const exchange = `bench_${suffix}`;
  const topic = `bench_${mode}_${suffix}`;
  const worker = await startWorker(mode, url, exchange, topic, telemetry, otlpUrl);
  const client = mode === 'raw' ? await rawClient(url, exchange, topic) : novarpcClient(url, exchange, topic, telemetry, otlpUrl);
  return {
    mode,
    client,
    worker,
    latencies: [],
    time: { concurrent: 0, casts: 0, fanouts: 0 },
    counts: { concurrent: 0, casts: 0, fanouts: 0 },
    async close() {
      await client.close();
      await worker.close();
      await deleteBenchEntities(url, exchange, topic);
    },
  };
}

function figuresOf(side: Side): Figures {
  const latencies = [...side.latencies].sort((a, b) => a - b);
  const totalSeconds = latencies.reduce((sum, value) => sum + value, 0) / 1000;
  return {
    sequentialRate: Math.round(latencies.length / totalSeconds),
    p50: round2(latencies[Math.floor(latencies.length * 0.5)]!),
    p99: round2(latencies[Math.floor(latencies.length * 0.99)]!),
    concurrentRate: Math.round(side.counts.concurrent / (side.time.concurrent / 1000)),
    castRate: Math.round(side.counts.casts / (side.time.casts / 1000)),
    fanoutRate: Math.round(side.counts.fanouts / (side.time.fanouts / 1000)),
  };
}

async function measureRss(side: Side, calls: number): Promise<{ warm: number; end: number; growthPercent: number }> {
  await runConcurrent(calls / 10, CONCURRENCY, (i) => side.client.call(i));
  const warm = (await side.worker.stats(true)).rss;
  await runConcurrent(calls - calls / 10, CONCURRENCY, (i) => side.client.call(i));
  const end = (await side.worker.stats(true)).rss;
  const mib = (bytes: number) => round2(bytes / 1024 / 1024);
  return { warm: mib(warm), end: mib(end), growthPercent: round2(((end - warm) / warm) * 100) };
}

function report(
  rawSide: Side,
  novarpcSide: Side,
  rss: { warm: number; end: number; growthPercent: number } | undefined,
  sizes: { sequential: number; concurrent: number; casts: number; fanouts: number; rss: number },
  slices: number,
  sequentialSlices: number,
): BenchSection {
  const raw = figuresOf(rawSide);
  const novarpc = figuresOf(novarpcSide);
  const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
  const rows: BenchRow[] = [
    { name: 'sequential call', value: novarpc.sequentialRate, unit: 'calls/s', baseline: raw.sequentialRate, ratio: ratio(novarpc.sequentialRate, raw.sequentialRate), target: '>= 0.85' },
    { name: 'sequential call p50', value: novarpc.p50, unit: 'ms', baseline: raw.p50, ratio: ratio(raw.p50, novarpc.p50) },
    { name: 'sequential call p99', value: novarpc.p99, unit: 'ms', baseline: raw.p99, ratio: ratio(raw.p99, novarpc.p99) },
    { name: `concurrent call (${CONCURRENCY} in flight)`, value: novarpc.concurrentRate, unit: 'calls/s', baseline: raw.concurrentRate, ratio: ratio(novarpc.concurrentRate, raw.concurrentRate), target: '>= 0.85' },
    { name: 'confirmed cast', value: novarpc.castRate, unit: 'casts/s', baseline: raw.castRate, ratio: ratio(novarpc.castRate, raw.castRate), target: '>= 0.8' },
    { name: 'fanout cast to 4 servers (all delivered)', value: novarpc.fanoutRate, unit: 'fanouts/s', baseline: raw.fanoutRate, ratio: ratio(novarpc.fanoutRate, raw.fanoutRate) },
  ];
  if (rss) {
    rows.push(
      { name: `worker RSS after warm-up (${sizes.rss / 10} calls)`, value: rss.warm, unit: 'MiB' },
      { name: `worker RSS after ${sizes.rss} calls`, value: rss.end, unit: 'MiB' },
      { name: 'worker RSS growth after warm-up', value: rss.growthPercent, unit: '%', target: '<= 20' },
    );
  }
  return {
    title: 'RPC over RabbitMQ: novarpc vs raw amqplib (same flags, persistence, confirms)',
    rows,
    notes: [
      `both sides run at once and every figure alternates raw and novarpc in slices (${sequentialSlices} for sequential calls, ${slices} for the others); totals: ${sizes.sequential} sequential calls, ${sizes.concurrent} concurrent calls, ${sizes.casts} casts, ${sizes.fanouts} fanouts x 4 servers per side`,
      'queues: quorum topic queue, durable topic exchange (novarpc defaults); persistent messages; publisher confirms on every publish; same method, args and context carried',
      'servers in a child process per side (4 servers each); clients in the benchmark process',
    ],
  };
}

function novarpcClient(url: string, exchange: string, topic: string, telemetry?: TelemetryMode, otlpUrl?: string): BenchClient {
  const separator = url.includes('?') ? '&' : '?';
  const config = telemetry === undefined ? {} : telemetryConfig(telemetry, otlpUrl);
  const transport = getTransport(`${url}${separator}control_exchange=${exchange}&rabbit_transient_queues_ttl=120`, config);
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
  spans?: SpanCounts;
}

type SpanCounts = { ended: number; exported: number };

async function startWorker(mode: string, url: string, exchange: string, topic: string, telemetry?: TelemetryMode, otlpUrl?: string) {
  const telemetryArgs = telemetry === undefined ? [] : [`--telemetry=${telemetry}`, ...(otlpUrl ? [`--otlp=${otlpUrl}`] : [])];
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--expose-gc', ...nodeArgsFor('bench/rpc-worker'), `--mode=${mode}`, `--url=${url}`, `--exchange=${exchange}`, `--topic=${topic}`, '--fanout=4', ...telemetryArgs],
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

async function elapsed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** The report of a telemetry comparison: novarpc with it against novarpc without, targets from issue 11. */
function telemetrySection(
  section: BenchSection,
  telemetry: Exclude<TelemetryMode, 'off'>,
  sinkBytes: number | undefined,
  spans: { client: SpanCounts; worker: SpanCounts } | undefined,
): BenchSection {
  const target = telemetry === 'metrics' ? '>= 0.97' : '>= 0.85';
  const rates = ['sequential call', `concurrent call (${CONCURRENCY} in flight)`, 'confirmed cast', 'fanout cast to 4 servers (all delivered)'];
  return {
    title:
      telemetry === 'metrics'
        ? 'RPC telemetry overhead: metrics on, tracing off (novarpc) vs both off (baseline)'
        : 'RPC telemetry overhead: tracing on, always-on sampler, batch OTLP/HTTP export to a local receiver (novarpc) vs off (baseline)',
    rows: section.rows.map((row) => ({ ...row, target: rates.includes(row.name) ? target : undefined })),
    notes: [
      ...(section.notes ?? []).slice(0, 1),
      'both sides are novarpc on the same broker, clients here and servers in a child process per side; only the telemetry differs',
      ...(sinkBytes === undefined ? [] : [`the local OTLP receiver got ${Math.round(sinkBytes / 1024)} KiB of spans`]),
      ...(spans === undefined
        ? []
        : [
            `spans ended/exported by the batch processor (SDK defaults: queue 2048, batch 512, 5 s): client ${spans.client.ended}/${spans.client.exported}, servers ${spans.worker.ended}/${spans.worker.exported} (the rest were dropped or still queued)`,
            'the tracing side registers the async-local-storage context manager in the benchmark process, so its promise hooks also run for the baseline client there (its servers run in their own processes)',
          ]),
    ],
  };
}
