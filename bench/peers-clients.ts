/**
 * The sides of the peers benchmark (bench/peers.ts): for each of novarpc, moleculer,
 * bare amqplib (the floor) and Python oslo.messaging, a client in this process (or a
 * Python client process) and a server in a child process, behind one interface.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import * as amqp from 'amqplib';
import { getTransport, RequestContext, RpcClient } from '../src/rpc/index.js';
import { toAmqpUrl } from '../test/support/harness.js';
import { nodeArgsFor } from './entry.js';
import { processCpuSeconds } from './broker-cpu.js';

/** Server kinds of bench/peers-worker.ts. */
export type PeerWorkerMode = 'novarpc' | 'moleculer' | 'floor';

/** Calls in flight for the concurrent figures. */
export const PEERS_CONCURRENCY = 64;

/** One side of the comparison. */
export interface PeerSide {
  readonly label: string;
  /** `count` calls one at a time; their latencies in ms. */
  sequential(count: number): Promise<number[]>;
  /** `count` calls, {@link PEERS_CONCURRENCY} in flight. */
  calls(count: number): Promise<void>;
  /** `count` casts, {@link PEERS_CONCURRENCY} in flight; returns once the server handled them all. */
  casts(count: number): Promise<void>;
  /** CPU seconds used so far by this side's client (for the Node sides: this whole process) and server. */
  cpu(): { client: number; server: number };
  close(): Promise<void>;
}

/**
 * moleculer's AMQP transporter tuned: Nagle off and prefetch 64 (its default prefetch
 * is 1, which serializes a server's calls).
 */
export function moleculerTransporter(url: string) {
  return { type: 'AMQP' as const, options: { url, prefetch: 64, socketOptions: { noDelay: true } } };
}

/** A child process speaking one JSON line per command on stdin/stdout. */
interface LineProcess {
  readonly pid: number;
  request(command: string): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

async function startLineProcess(command: string, argv: string[], what: string): Promise<LineProcess> {
  const child = spawn(command, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const line = await lines.next();
    if (line.done) throw new Error(`${what} exited (status ${await exited})`);
    return JSON.parse(line.value as string) as Record<string, unknown>;
  };
  if (!(await next()).ready) throw new Error(`${what} did not start`);
  return {
    pid: child.pid!,
    async request(text) {
      child.stdin.write(`${text}\n`);
      return next();
    },
    async close() {
      if (child.exitCode === null) child.stdin.write('exit\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls the server's handled count until it reached `count`. */
async function waitHandled(server: LineProcess, count: number, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (((await server.request('stats')).handled as number) < count) {
    if (Date.now() > deadline) throw new Error('a peers benchmark server did not catch up in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Deletes what a side's servers leave on the broker: their topic and server queues, their exchange. */
async function deleteEntities(url: string, exchange: string, topic: string): Promise<void> {
  const connection = await amqp.connect(toAmqpUrl(url));
  const channel = await connection.createChannel();
  channel.on('error', () => {});
  for (const queue of [topic, `${topic}.peer0`]) await channel.deleteQueue(queue).catch(() => {});
  await channel.deleteExchange(exchange).catch(() => {});
  await connection.close().catch(() => {});
}

async function runConcurrent(total: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(PEERS_CONCURRENCY, total) }, async () => {
      while (next < total) await task(next++);
    }),
  );
}

/** A Node client (call, cast) against a server in a peers-worker child process. */
async function nodeSide(
  label: string,
  mode: PeerWorkerMode,
  workerArgs: string[],
  openClient: () => Promise<{ call(value: number): Promise<unknown>; cast(value: number): Promise<unknown>; close(): Promise<void> }>,
  cleanUp?: () => Promise<void>,
): Promise<PeerSide> {
  // NOVARPC_BENCH_WORKER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the servers.
  const nodeArgs = process.env.NOVARPC_BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const server = await startLineProcess(process.execPath, [...nodeArgs, ...nodeArgsFor('bench/peers-worker'), `--mode=${mode}`, ...workerArgs], `${label} server`);
  const client = await openClient().catch(async (error: unknown) => {
    await server.close();
    throw error;
  });
  let handled = 0;
  return {
    label,
    cpu: () => {
      const usage = process.cpuUsage();
      return { client: (usage.user + usage.system) / 1e6, server: processCpuSeconds(server.pid) };
    },
    async sequential(count) {
      const latencies: number[] = [];
      for (let i = 0; i < count; i++) {
        const started = performance.now();
        await client.call(i);
        latencies.push(performance.now() - started);
      }
      handled += count;
      return latencies;
    },
    async calls(count) {
      await runConcurrent(count, (i) => client.call(i));
      handled += count;
    },
    async casts(count) {
      await runConcurrent(count, (i) => client.cast(i));
      handled += count;
      await waitHandled(server, handled);
    },
    async close() {
      await client.close().catch(() => {});
      await server.close();
      await cleanUp?.();
    },
  };
}

/** novarpc with the transport URL's options (its defaults, or oslo's stock ones). */
export function novarpcSide(label: string, url: string, exchange: string, topic: string): Promise<PeerSide> {
  const separator = url.includes('?') ? '&' : '?';
  const fullUrl = `${url}${separator}control_exchange=${exchange}&rabbit_transient_queues_ttl=120`;
  return nodeSide(label, 'novarpc', [`--url=${fullUrl}`, `--topic=${topic}`], async () => {
    const transport = getTransport(fullUrl);
    const client = new RpcClient(transport, { topic }, { timeout: 60 });
    const context = new RequestContext({ userId: 'bench', projectId: 'bench' });
    await client.call(context, 'echo', { value: 0 }); // server up, reply queue up
    return {
      call: (value) => client.call(context, 'echo', { value }),
      cast: (value) => client.cast(context, 'cast', { value }),
      close: () => transport.close(),
    };
  }, () => deleteEntities(url, exchange, topic));
}

/** moleculer: a client node and a server node in one namespace, AMQP transporter tuned. */
export function moleculerSide(label: string, url: string, namespace: string): Promise<PeerSide> {
  const amqpUrl = toAmqpUrl(url);
  return nodeSide(label, 'moleculer', [`--url=${amqpUrl}`, `--namespace=${namespace}`], async () => {
    const { ServiceBroker } = (await import('moleculer')).default;
    const broker = new ServiceBroker({ namespace, nodeID: `peers-client-${process.pid}`, logger: false, transporter: moleculerTransporter(amqpUrl) });
    await broker.start();
    await broker.waitForServices('bench', 60_000);
    return {
      call: (value) => broker.call('bench.echo', { value }),
      cast: async (value) => {
        await broker.emit('bench.cast', { value });
      },
      close: () => broker.stop(),
    };
  });
}

/**
 * The floor: bare amqplib, no publisher confirms, transient messages on exclusive
 * classic queues, replies consumed without acks, a minimal body ({method, args}).
 */
export function floorSide(label: string, url: string, topic: string): Promise<PeerSide> {
  return nodeSide(label, 'floor', [`--url=${url}`, `--topic=${topic}`], async () => {
    const connection = await amqp.connect(toAmqpUrl(url), { noDelay: true });
    const channel = await connection.createChannel();
    const { queue: replyQueue } = await channel.assertQueue('', { exclusive: true, durable: false, autoDelete: true });
    const waiting = new Map<string, (value: unknown) => void>();
    await channel.consume(
      replyQueue,
      (message) => {
        if (!message) return;
        const id = message.properties.correlationId as string;
        waiting.get(id)?.((JSON.parse(message.content.toString('utf8')) as { result: unknown }).result);
        waiting.delete(id);
      },
      { noAck: true },
    );
    let drained: Promise<void> | undefined;
    // Respects the socket's backpressure, as any sane client would.
    const send = async (body: object, properties: amqp.Options.Publish) => {
      if (drained) await drained;
      if (!channel.sendToQueue(topic, Buffer.from(JSON.stringify(body)), properties)) {
        drained ??= new Promise<void>((resolve) => channel.once('drain', () => resolve())).finally(() => (drained = undefined));
      }
    };
    let nextId = 0;
    return {
      async call(value) {
        const correlationId = String(nextId++);
        const reply = new Promise((resolve) => waiting.set(correlationId, resolve));
        await send({ method: 'echo', args: { value } }, { replyTo: replyQueue, correlationId, contentType: 'application/json' });
        return reply;
      },
      cast: (value) => send({ method: 'cast', args: { value } }, { contentType: 'application/json' }),
      close: () => connection.close(),
    };
  });
}

/** Python oslo.messaging: a client process and a server process (bench/peers_oslo.py). */
export async function osloSide(label: string, url: string, exchange: string, topic: string): Promise<PeerSide> {
  // The script stays in bench/ (tsc does not copy it to .bench-build/bench/).
  const compiled = import.meta.url.endsWith('.js');
  const script = fileURLToPath(new URL(compiled ? '../../bench/peers_oslo.py' : './peers_oslo.py', import.meta.url));
  const common = [`--url=${url.split('?')[0]}`, `--exchange=${exchange}`, `--topic=${topic}`];
  const server = await startLineProcess('/usr/bin/python3', [script, 'server', ...common], `${label} server`);
  let client: LineProcess;
  try {
    client = await startLineProcess('/usr/bin/python3', [script, 'client', ...common, `--concurrency=${PEERS_CONCURRENCY}`], `${label} client`);
  } catch (error) {
    await server.close();
    throw error;
  }
  let handled = 1; // the client's warm-up call
  return {
    label,
    cpu: () => ({ client: processCpuSeconds(client.pid), server: processCpuSeconds(server.pid) }),
    async sequential(count) {
      handled += count;
      return (await client.request(`seq ${count}`)).latencies as number[];
    },
    async calls(count) {
      await client.request(`calls ${count}`);
      handled += count;
    },
    async casts(count) {
      await client.request(`casts ${count}`);
      handled += count;
      await waitHandled(server, handled);
    },
    async close() {
      await client.close();
      await server.close();
      await deleteEntities(url, exchange, topic);
    },
  };
}

/** A unique suffix for this run's exchange, topics and namespace. */
export function runSuffix(): string {
  return randomBytes(4).toString('hex');
}
