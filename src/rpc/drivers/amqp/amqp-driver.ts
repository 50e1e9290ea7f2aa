/**
 * The RabbitMQ driver (amqplib): a publishing connection with a pool of confirm
 * channels, one listening connection shared by the transport's RPC servers (a channel
 * each: a process hosting 250 compute hosts holds one listening connection, not 250),
 * one per notification listener, and one reply-queue connection per process.
 */
import type { Channel, ConfirmChannel } from 'amqplib';
import type { Logger } from '../../../log/logger.js';
import type { TransportOptions } from '../../transport-options.js';
import type { ParsedTransportUrl } from '../../transport-url.js';
import type { DeliveryHandler, Driver, Listener, MessageHeaders, NotificationListenSpec, RequestPublishOptions, RpcListenSpec } from '../driver.js';
import { BrokerConnection } from './connection.js';
import { Consumer } from './consumer.js';
import { ignoredFailure } from './ignored-failure.js';
import { AmqpDeadLetterQueue } from './dead-letter.js';
import { Publisher } from './publisher.js';
import type { Declaration } from './publish-request.js';
import type { RpcMetrics } from '../../telemetry/metrics.js';
import { QueueNamer } from './queue-names.js';
import {
  consumerArguments,
  controlExchange,
  fanoutExchange,
  fanoutExchangeName,
  fanoutStream,
  legacyReplyExchange,
  rpcServerLayout,
  transientQueue,
  workQueue,
} from '../../wire/topology.js';

/** RabbitMQ transport driver. */
export class AmqpDriver implements Driver {
  readonly name = 'rabbit' as const;
  readonly deadLetters: AmqpDeadLetterQueue;
  private readonly publishConnection: BrokerConnection;
  private readonly publisher: Publisher;
  private readonly connections = new Set<BrokerConnection>();
  private readonly consumers = new Set<Consumer>();
  /** The listening connection of the RPC servers, and how many use it. */
  private rpcListen: { connection: BrokerConnection; users: number } | undefined;
  private replyQueue: Promise<string> | undefined;
  private readonly declarationCache = new Map<string, readonly Declaration[]>();
  private readonly names: QueueNamer;

  constructor(
    private readonly url: ParsedTransportUrl,
    private readonly options: TransportOptions,
    private readonly logger: Logger,
    private readonly metrics?: RpcMetrics,
  ) {
    this.names = new QueueNamer(options);
    this.publishConnection = this.newConnection('publish');
    this.publisher = new Publisher(this.publishConnection, options, logger, metrics);
    this.deadLetters = new AmqpDeadLetterQueue(options.dead_letter_queue, this.publisher, this.newConnection('dead-letter'));
  }

  publishRequest(exchange: string, routingKey: string, body: Buffer, options?: RequestPublishOptions): Promise<void> {
    const declarations = this.declarations(`x:${exchange}`, () => [this.controlExchangeDeclaration(exchange)]);
    return this.publisher.publish({
      exchange,
      routingKey,
      body,
      expirationMs: options?.expirationMs,
      sendTimeoutMs: options?.sendTimeoutMs,
      declarations,
      properties: withHeaders(options?.headers),
    });
  }

  publishFanout(topic: string, body: Buffer, headers?: MessageHeaders): Promise<void> {
    const exchange = fanoutExchangeName(topic);
    return this.publisher.publish({
      exchange,
      routingKey: '',
      body,
      properties: withHeaders(headers),
      declarations: this.declarations(`x:${exchange}`, () => {
        const { type, options } = fanoutExchange(this.options);
        return [{ key: `x:${exchange}`, declare: (channel) => channel.assertExchange(exchange, type, options) }];
      }),
    });
  }

  publishReply(replyQueue: string, body: Buffer, headers?: MessageHeaders): Promise<void> {
    return this.publisher.publish({ exchange: '', routingKey: replyQueue, body, mandatory: this.options.direct_mandatory_flag, properties: withHeaders(headers) });
  }

  publishNotification(exchange: string, routingKey: string, queue: string, body: Buffer, headers?: MessageHeaders): Promise<void> {
    return this.publisher.publish({
      exchange,
      routingKey,
      body,
      properties: withHeaders(headers),
      declarations: this.declarations(`q:${exchange}:${queue}:${routingKey}`, () => [
        this.controlExchangeDeclaration(exchange),
        {
          key: `q:${exchange}:${queue}:${routingKey}`,
          declare: async (channel) => {
            await channel.assertQueue(queue, workQueue(this.options));
            await channel.bindQueue(queue, exchange, routingKey);
          },
        },
      ]),
    });
  }

  startReplyQueue(handler: DeliveryHandler, onLost: (error: Error) => void): Promise<string> {
    this.replyQueue ??= this.openReplyQueue(handler, onLost).catch((error: unknown) => {
      this.replyQueue = undefined;
      throw error;
    });
    return this.replyQueue;
  }

  async listenRpc(spec: RpcListenSpec, handler: DeliveryHandler): Promise<Listener> {
    const layout = rpcServerLayout(this.options, spec.exchange, spec.topic, spec.server, () => this.names.unique());
    const { workQueues, fanoutQueue } = layout;
    return this.startConsumer(`listen:${workQueues[1]}`, spec.prefetch, handler, {
      shared: true,
      streams: new Set(layout.fanoutIsStream ? [fanoutQueue] : []),
      setup: async (channel) => {
        await this.declareControlExchange(channel, layout.exchange);
        for (const queue of workQueues) {
          await channel.assertQueue(queue, workQueue(this.options));
          await channel.bindQueue(queue, layout.exchange, queue);
        }
        const fanout = fanoutExchange(this.options);
        await channel.assertExchange(layout.fanoutExchange, fanout.type, fanout.options);
        await channel.assertQueue(fanoutQueue, layout.fanoutIsStream ? fanoutStream(this.options) : transientQueue(this.options));
        await channel.bindQueue(fanoutQueue, layout.fanoutExchange, layout.fanoutBindingKey);
        return [...workQueues, fanoutQueue];
      },
      onClose: layout.deleteFanoutQueueOnStop
        ? async (channel) => {
            await channel.deleteQueue(fanoutQueue);
          }
        : undefined,
    });
  }

  async listenNotifications(spec: NotificationListenSpec, handler: DeliveryHandler): Promise<Listener> {
    return this.startConsumer(`notifications:${spec.bindings.map((b) => b.queue).join(',')}`, spec.prefetch, handler, {
      setup: async (channel) => {
        await this.declareControlExchange(channel, spec.exchange);
        const queues = new Set<string>();
        for (const binding of spec.bindings) {
          await channel.assertQueue(binding.queue, workQueue(this.options));
          await channel.bindQueue(binding.queue, spec.exchange, binding.routingKey);
          queues.add(binding.queue);
        }
        return [...queues];
      },
    });
  }

  publisherChannels(): { inUse: number; idle: number } {
    return this.publisher.channelCounts();
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((consumer) => consumer.close().catch(ignoredFailure(this.logger, 'closing a consumer at transport close: its connection is closed next, which releases it on the broker'))));
    // Connections first: a channel still being created for an unreachable broker then
    // fails at once instead of holding the pool's drain forever.
    await Promise.all([...this.connections].map((connection) => connection.close()));
    await this.publisher.close();
  }

  private async openReplyQueue(handler: DeliveryHandler, onLost: (error: Error) => void): Promise<string> {
    const queue = this.names.reply();
    const consumer = new Consumer({
      connection: this.newConnection('reply'),
      prefetch: 0,
      // Replies are acknowledged on receipt (docs/wire-format.md §6.2): the broker may as
      // well count them acknowledged when it sends them, which spares an ack frame per
      // call. A reply lost with its connection is no different: pending calls fail at once
      // (onLost).
      autoAck: true,
      handler,
      setup: async (channel) => {
        await channel.assertQueue(queue, transientQueue(this.options));
        // Python servers before oslo.messaging 9.2 reply through a direct exchange named
        // like the reply queue (docs/wire-format.md §4.5); newer ones use the default
        // exchange.
        const legacy = legacyReplyExchange();
        await channel.assertExchange(queue, legacy.type, legacy.options);
        await channel.bindQueue(queue, queue, queue);
        return [queue];
      },
      deadLetter: (message, from, reason) => this.deadLetters.add(message, from, reason),
      logger: this.logger.child({ queue }),
      onLost,
      startTimeoutMs: this.options.send_timeout * 1000,
    });
    await consumer.start();
    this.consumers.add(consumer);
    return queue;
  }

  private async startConsumer(
    purpose: string,
    prefetch: number,
    handler: DeliveryHandler,
    hooks: {
      setup: (channel: Channel) => Promise<string[]>;
      onClose?: (channel: Channel) => Promise<void>;
      streams?: ReadonlySet<string>;
      /** Ride on the RPC servers' shared listening connection (named after its first user). */
      shared?: boolean;
    },
  ): Promise<Listener> {
    const connection = hooks.shared ? this.acquireRpcListenConnection(purpose) : this.newConnection(purpose);
    const release = async () => {
      if (!hooks.shared) {
        this.connections.delete(connection);
        return;
      }
      const shared = this.rpcListen;
      if (!shared || shared.connection !== connection || --shared.users > 0) return;
      this.rpcListen = undefined;
      this.connections.delete(connection);
      await connection.close();
    };
    const consumer = new Consumer({
      connection,
      sharedConnection: hooks.shared,
      prefetch,
      handler,
      setup: hooks.setup,
      onClose: hooks.onClose,
      streams: hooks.streams,
      consumerArguments: consumerArguments(this.options),
      deadLetter: (message, queue, reason) => this.deadLetters.add(message, queue, reason),
      logger: this.logger.child({ listener: purpose }),
      startTimeoutMs: this.options.send_timeout * 1000,
    });
    try {
      await consumer.start();
    } catch (error) {
      await consumer.close().catch(ignoredFailure(this.logger, 'closing a consumer that failed to start: the start error is what is thrown'));
      await release();
      throw error;
    }
    this.consumers.add(consumer);
    return {
      cancel: () => consumer.cancel(),
      close: async () => {
        this.consumers.delete(consumer);
        await consumer.close();
        await release();
      },
    };
  }

  /** The shared listening connection of the RPC servers, opened by the first one. */
  private acquireRpcListenConnection(purpose: string): BrokerConnection {
    if (!this.rpcListen) {
      const connection = this.newConnection(purpose);
      connection.setMaxListeners(0); // a listener pair per server using it
      this.rpcListen = { connection, users: 0 };
    }
    this.rpcListen.users += 1;
    return this.rpcListen.connection;
  }

  /**
   * What a publish to `key` declares first, built once per entity: the publisher runs
   * each declaration once per channel, so on the hot path this is a map lookup.
   */
  private declarations(key: string, build: () => Declaration[]): readonly Declaration[] {
    let found = this.declarationCache.get(key);
    if (!found) {
      found = build();
      this.declarationCache.set(key, found);
    }
    return found;
  }

  private controlExchangeDeclaration(exchange: string): Declaration {
    return { key: `x:${exchange}`, declare: (channel: ConfirmChannel) => this.declareControlExchange(channel, exchange) };
  }

  private declareControlExchange(channel: Channel, exchange: string): Promise<unknown> {
    const { type, options } = controlExchange(this.options);
    return channel.assertExchange(exchange, type, options);
  }

  private newConnection(purpose: string): BrokerConnection {
    const connection = new BrokerConnection({
      hosts: this.url.hosts,
      virtualHost: this.url.virtualHost,
      tls: this.url.tls,
      options: this.options,
      logger: this.logger,
      purpose,
    });
    this.connections.add(connection);
    const metrics = this.metrics;
    if (metrics) {
      let connects = 0;
      connection.on('connected', () => {
        if (++connects > 1) metrics.reconnected();
      });
    }
    return connection;
  }
}

/** AMQP properties carrying `headers` (trace context); none when there are none. */
function withHeaders(headers: MessageHeaders | undefined): { headers: MessageHeaders } | undefined {
  return headers === undefined ? undefined : { headers };
}
