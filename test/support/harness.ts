/**
 * A test bus for the shared behavioural suite: new transports on one memory bus or
 * one RabbitMQ, an exchange and topic names unique to each test, raw publishing for
 * malformed-input tests, and clean-up of everything declared.
 */
import { randomBytes } from 'node:crypto';
import * as amqp from 'amqplib';
import { createLogger, type Logger } from '../../src/log/logger.js';
import { getTransport, MemoryBus, type Transport, type TransportOptionInput } from '../../src/rpc/index.js';

/** What a behavioural test gets. */
export interface TestBus {
  readonly driver: 'memory' | 'rabbit';
  /** The control exchange of this test. */
  readonly exchange: string;
  /** A topic name unique to this test. */
  topic(name: string): string;
  /** A new transport (think: a new process) on the test's bus. */
  transport(options?: TransportOptionInput): Transport;
  /** Publishes raw bytes, bypassing the framework (for malformed input). */
  publishRaw(exchange: string, routingKey: string, body: Buffer): Promise<void>;
  /** Closes every transport and removes what the test declared. */
  cleanup(): Promise<void>;
}

/** Builds test buses for one driver. */
export interface TestBusFactory {
  readonly driver: 'memory' | 'rabbit';
  create(): Promise<TestBus>;
}

/** Server names tests use, so clean-up knows the `<topic>.<server>` queues. */
export const SERVER_NAMES = ['s1', 's2', 's3', 's4', 'host1', 'host2'] as const;
const PRIORITY_NAMES = ['audit', 'debug', 'info', 'warn', 'error', 'critical', 'sample'];

const quietLogger: Logger = createLogger({ level: process.env.NOVARPC_TEST_LOG_LEVEL ?? 'silent' });

function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

/** Memory buses: each test gets a bus of its own. */
export function memoryBusFactory(): TestBusFactory {
  return {
    driver: 'memory',
    async create() {
      const bus = new MemoryBus();
      const exchange = `test_${uniqueSuffix()}`;
      const transports: Transport[] = [];
      return {
        driver: 'memory',
        exchange,
        topic: (name) => name,
        transport(options) {
          const transport = getTransport('memory://', { bus, logger: quietLogger, options: { control_exchange: exchange, ...options } });
          transports.push(transport);
          return transport;
        },
        async publishRaw(target, routingKey, body) {
          bus.declareExchange(target, 'topic');
          bus.publish(target, routingKey, body);
        },
        async cleanup() {
          await Promise.all(transports.map((transport) => transport.close()));
        },
      };
    },
  };
}

/** RabbitMQ buses: each test gets its own exchange and topics on the real broker. */
export function rabbitBusFactory(brokerUrl: () => Promise<string>): TestBusFactory {
  return {
    driver: 'rabbit',
    async create() {
      const url = await brokerUrl();
      const suffix = uniqueSuffix();
      const exchange = `test_${suffix}`;
      const topics = new Set<string>();
      const transports: Transport[] = [];
      const admin = await amqp.connect(toAmqpUrl(url));
      admin.on('error', () => {});
      const channel = await admin.createConfirmChannel();
      channel.on('error', () => {});
      const separator = url.includes('?') ? '&' : '?';
      return {
        driver: 'rabbit',
        exchange,
        topic(name) {
          const topic = `${name}_${suffix}`;
          topics.add(topic);
          return topic;
        },
        transport(options) {
          // Short x-expires so reply queues of finished tests do not linger on the shared broker.
          const transport = getTransport(`${url}${separator}control_exchange=${exchange}`, {
            logger: quietLogger,
            options: { rabbit_transient_queues_ttl: 60, ...options },
          });
          transports.push(transport);
          return transport;
        },
        async publishRaw(target, routingKey, body) {
          await new Promise<void>((resolve, reject) =>
            channel.publish(target, routingKey, body, { contentType: 'application/json', deliveryMode: 2 }, (error) => (error ? reject(error) : resolve())),
          );
        },
        async cleanup() {
          await Promise.all(transports.map((transport) => transport.close().catch(() => {})));
          const cleaner = await admin.createChannel();
          cleaner.on('error', () => {});
          const suffixes = ['', ...SERVER_NAMES.map((name) => `.${name}`), ...PRIORITY_NAMES.map((name) => `.${name}`)];
          for (const topic of topics) {
            for (const end of suffixes) await cleaner.deleteQueue(`${topic}${end}`).catch(() => {});
          }
          await cleaner.deleteExchange(exchange).catch(() => {});
          await cleaner.close().catch(() => {});
          await admin.close().catch(() => {});
        },
      };
    },
  };
}

/** rabbit://… → amqp://… for a raw amqplib connection (first host, no query). */
export function toAmqpUrl(url: string): string {
  const withoutQuery = url.split('?')[0]!;
  const [scheme, rest] = withoutQuery.split('://') as [string, string];
  const firstHost = rest.split(',')[0]!.split('/')[0]!;
  const vhost = rest.includes('/') ? rest.slice(rest.indexOf('/') + 1) : '';
  return `${scheme === 'rabbits' ? 'amqps' : 'amqp'}://${firstHost}/${vhost}`;
}

/**
 * Resolves when `predicate` is true, polling; rejects after `timeoutMs`. The default is
 * generous on purpose: it bounds "eventually" on a loaded machine, it is not a measurement.
 */
export async function waitFor(predicate: () => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A promise with its resolve function, for handlers that wait for the test. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
