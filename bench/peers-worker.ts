/**
 * Server process of the peers benchmark (bench/peers.ts): one server that answers
 * `echo` calls and counts `cast`s, written with novarpc, with moleculer's AMQP
 * transporter, or with bare amqplib (the floor). The Python oslo.messaging server is
 * bench/peers_oslo.py. Commands on stdin, one per line: `stats` prints {handled};
 * `exit` stops the server and the process.
 */
import { createInterface } from 'node:readline';
import * as amqp from 'amqplib';
import { getTransport, RpcServer } from '../src/rpc/index.js';
import { toAmqpUrl } from '../test/support/harness.js';
import { moleculerTransporter, type PeerWorkerMode } from './peers-clients.js';

const args = Object.fromEntries(
  process.argv.slice(2).map((arg) => {
    const eq = arg.indexOf('=');
    return [arg.slice(2, eq), arg.slice(eq + 1)];
  }),
) as Record<string, string>;
const mode = args.mode as PeerWorkerMode;
const counters = { handled: 0 };

/** novarpc's RpcServer; `args.url` carries the options under test (e.g. rabbit_quorum_queue=false). */
async function startNovarpc(): Promise<() => Promise<void>> {
  const transport = getTransport(args.url!);
  const server = new RpcServer(transport, { topic: args.topic!, server: 'peer0' }, [
    {
      methods: {
        echo: (_ctx, request) => {
          counters.handled += 1;
          return request.value;
        },
        cast: () => {
          counters.handled += 1;
        },
      },
    },
  ]);
  await server.start();
  return async () => {
    await server.stop();
    await transport.close();
  };
}

/** A moleculer node with one service, on the AMQP transporter tuned as its docs suggest. */
async function startMoleculer(): Promise<() => Promise<void>> {
  const { ServiceBroker } = (await import('moleculer')).default;
  const broker = new ServiceBroker({
    namespace: args.namespace!,
    nodeID: `peers-server-${process.pid}`,
    logger: false,
    transporter: moleculerTransporter(args.url!),
  });
  broker.createService({
    name: 'bench',
    actions: {
      echo: (ctx: { params: { value: unknown } }) => {
        counters.handled += 1;
        return ctx.params.value;
      },
    },
    events: {
      'bench.cast': () => {
        counters.handled += 1;
      },
    },
  });
  await broker.start();
  return () => broker.stop();
}

/**
 * The floor: bare amqplib, no publisher confirms, non-persistent messages, exclusive
 * classic queues; requests are acked after the reply is written (prefetch 64), as
 * moleculer does; replies are consumed without acks.
 */
async function startFloor(): Promise<() => Promise<void>> {
  const connection = await amqp.connect(toAmqpUrl(args.url!), { noDelay: true });
  const channel = await connection.createChannel();
  await channel.assertQueue(args.topic!, { exclusive: true, durable: false, autoDelete: true });
  await channel.prefetch(64);
  await channel.consume(args.topic!, (message) => {
    if (!message) return;
    const request = JSON.parse(message.content.toString('utf8')) as { args: { value?: unknown } };
    counters.handled += 1;
    const { replyTo, correlationId } = message.properties;
    if (replyTo) {
      channel.sendToQueue(replyTo, Buffer.from(JSON.stringify({ result: request.args.value })), { correlationId, contentType: 'application/json' });
    }
    channel.ack(message);
  });
  return () => connection.close();
}

const starters: Record<PeerWorkerMode, () => Promise<() => Promise<void>>> = { novarpc: startNovarpc, moleculer: startMoleculer, floor: startFloor };
if (!starters[mode]) throw new Error(`unknown peers worker mode "${mode}"`);
const stop = await starters[mode]();
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'stats') process.stdout.write(`${JSON.stringify(counters)}\n`);
  if (line === 'exit') break;
}
await stop();
process.exit(0);
