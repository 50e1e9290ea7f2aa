/**
 * Benchmark worker process: serves the benchmark's topic with novarpc or with raw
 * amqplib (the baseline), with the same queue flags, persistence and confirms.
 * Commands on stdin (one per line): `stats` prints {handled, fanout[], rss, spans}; `exit`.
 */
import { createInterface } from 'node:readline';
import * as amqp from 'amqplib';
import { getTransport, RpcServer, type Transport } from '../src/rpc/index.js';
import { toAmqpUrl } from '../test/support/harness.js';
import { spanCounts, telemetryConfig, type TelemetryMode } from './telemetry.js';

interface WorkerArgs {
  mode: 'novarpc' | 'raw';
  url: string;
  exchange: string;
  topic: string;
  fanoutServers: number;
}

const args = Object.fromEntries(
  process.argv.slice(2).map((arg) => {
    const eq = arg.indexOf('=');
    return [arg.slice(2, eq), arg.slice(eq + 1)];
  }),
) as Record<string, string>;
const config: WorkerArgs = {
  mode: args.mode === 'raw' ? 'raw' : 'novarpc',
  url: args.url!,
  exchange: args.exchange!,
  topic: args.topic!,
  fanoutServers: Number(args.fanout ?? 4),
};
const telemetry = config.mode === 'novarpc' && args.telemetry ? telemetryConfig(args.telemetry as TelemetryMode, args.otlp) : {};
const counters = { handled: 0, fanout: Array.from({ length: config.fanoutServers }, () => 0) };

async function startNovarpc(): Promise<() => Promise<void>> {
  const separator = config.url.includes('?') ? '&' : '?';
  const transports: Transport[] = [];
  const servers: RpcServer[] = [];
  for (let i = 0; i < config.fanoutServers; i++) {
    const transport = getTransport(`${config.url}${separator}control_exchange=${config.exchange}&rabbit_transient_queues_ttl=120`, telemetry);
    transports.push(transport);
    const server = new RpcServer(transport, { topic: config.topic, server: `bench${i}` }, [
      {
        methods: {
          echo: (_ctx, request) => {
            counters.handled += 1;
            return request.value;
          },
          cast: () => {
            counters.handled += 1;
          },
          fan: () => {
            counters.fanout[i]! += 1;
          },
        },
      },
    ]);
    await server.start();
    servers.push(server);
  }
  return async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await Promise.all(transports.map((transport) => transport.close()));
  };
}

async function startRaw(): Promise<() => Promise<void>> {
  const url = toAmqpUrl(config.url);
  const connections: amqp.ChannelModel[] = [];
  const fanoutExchange = `${config.topic}_fanout`;
  for (let i = 0; i < config.fanoutServers; i++) {
    // One connection per server, as novarpc's servers have: a consuming channel and a
    // confirm channel for replies.
    const connection = await amqp.connect(url, { noDelay: true });
    const publishConnection = await amqp.connect(url, { noDelay: true });
    connections.push(connection, publishConnection);
    const channel = await connection.createChannel();
    const replies = await publishConnection.createConfirmChannel();
    await channel.assertExchange(config.exchange, 'topic', { durable: true, autoDelete: false });
    await channel.assertQueue(config.topic, { durable: true, autoDelete: false, arguments: { 'x-queue-type': 'quorum' } });
    await channel.bindQueue(config.topic, config.exchange, config.topic);
    await channel.assertExchange(fanoutExchange, 'fanout', { durable: false, autoDelete: true });
    const fanoutQueue = `${config.topic}_fanout_raw${i}`;
    await channel.assertQueue(fanoutQueue, { durable: false, autoDelete: false, arguments: { 'x-expires': 120_000 } });
    await channel.bindQueue(fanoutQueue, fanoutExchange, config.topic);
    await channel.prefetch(64);
    await channel.consume(config.topic, (message) => {
      if (!message) return;
      const request = JSON.parse(message.content.toString('utf8')) as { id?: string; replyTo?: string; args: { value?: unknown } };
      counters.handled += 1;
      if (request.replyTo) {
        channel.ack(message);
        const body = Buffer.from(JSON.stringify({ id: request.id, result: request.args.value }));
        replies.publish('', request.replyTo, body, { contentType: 'application/json', deliveryMode: 2, mandatory: true }, () => {});
      } else {
        channel.ack(message);
      }
    });
    await channel.consume(fanoutQueue, (message) => {
      if (!message) return;
      JSON.parse(message.content.toString('utf8'));
      counters.fanout[i]! += 1;
      channel.ack(message);
    });
  }
  return async () => {
    await Promise.all(connections.map((connection) => connection.close()));
  };
}

const stop = await (config.mode === 'raw' ? startRaw() : startNovarpc());
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'stats') process.stdout.write(`${JSON.stringify({ ...counters, rss: process.memoryUsage().rss, spans: spanCounts })}\n`);
  if (line === 'gc') {
    (globalThis as { gc?: () => void }).gc?.();
    process.stdout.write(`${JSON.stringify({ gc: true })}\n`);
  }
  if (line === 'exit') break;
}
await stop();
process.exit(0);
