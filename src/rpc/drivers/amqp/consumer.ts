/**
 * A consumer on a channel of its own, on a listening connection of its own or shared
 * with other consumers (`sharedConnection`). `setup` declares its topology and names
 * the queues to consume; after a connection loss or a broker-side cancel it is run
 * again on a new channel, so servers and the reply queue recover by themselves.
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../../../log/logger.js';
import type { Delivery, DeliveryHandler } from '../driver.js';
import { AckBatcher } from './ack-batcher.js';
import { StreamOffsets } from './stream-offsets.js';
import type { BrokerConnection } from './connection.js';
import { sleep } from '../../util/time.js';
import { declarationMismatch, isPreconditionFailure } from './declaration-errors.js';
import { ignoredFailure } from './ignored-failure.js';

/** Declares what the consumer needs and returns the queues to consume. */
export type ConsumerSetup = (channel: Channel) => Promise<string[]>;

/** Where dead letters go (the driver's dead-letter queue). */
export type DeadLetterSink = (message: ConsumeMessage, queue: string, reason: string) => Promise<void>;

/** Parameters of a {@link Consumer}. */
export interface ConsumerParams {
  connection: BrokerConnection;
  setup: ConsumerSetup;
  handler: DeliveryHandler;
  prefetch: number;
  consumerArguments?: Record<string, unknown>;
  /** Queues that are streams: consumed from an offset that survives reconnects. */
  streams?: ReadonlySet<string>;
  deadLetter: DeadLetterSink;
  logger: Logger;
  /** Called when the connection is lost (deliveries in flight cannot be acked any more). */
  onLost?: (error: Error) => void;
  /** Runs on the channel at graceful close (e.g. delete the fanout queue). */
  onClose?: (channel: Channel) => Promise<void>;
  /** How long start() waits for the broker before it fails, in ms. */
  startTimeoutMs: number;
  /**
   * Let the broker count a message acknowledged when it sends it (no basic.ack frames).
   * Only for consumers that would ack on receipt anyway, like the reply queue.
   */
  autoAck?: boolean;
  /** The connection is shared with other consumers: close() leaves it open. */
  sharedConnection?: boolean;
}

/** A self-recovering consumer. */
export class Consumer {
  private channel: Channel | undefined;
  private acks: AckBatcher | undefined;
  /** Consumer tag per queue consumed on the current channel. */
  private consumerTags = new Map<string, string>();
  private state: 'idle' | 'starting' | 'running' | 'cancelled' | 'closed' = 'idle';
  private generation = 0;
  private restarting = false;
  private readonly offsets: StreamOffsets;

  private readonly onConnected = (model: ChannelModel) => {
    if (this.state === 'running') void this.restart(model);
  };
  private readonly onConnectionLost = (error: Error) => {
    this.channel = undefined;
    this.acks = undefined;
    this.params.onLost?.(error);
  };

  constructor(private readonly params: ConsumerParams) {
    this.offsets = new StreamOffsets(params.streams ?? new Set());
    params.connection.on('connected', this.onConnected);
    params.connection.on('lost', this.onConnectionLost);
  }

  /** Connects, declares and consumes; rejects with a clear error when the broker refuses. */
  async start(): Promise<void> {
    this.state = 'starting';
    const model = await this.params.connection.connect(Date.now() + this.params.startTimeoutMs);
    await this.open(model);
    this.state = 'running';
  }

  /** Stops receiving new messages. */
  async cancel(): Promise<void> {
    if (this.state !== 'running' && this.state !== 'starting') return;
    this.state = 'cancelled';
    const channel = this.channel;
    const tags = [...this.consumerTags.values()];
    this.consumerTags = new Map();
    // A channel that closed meanwhile took its consumers with it: nothing left to cancel.
    const gone = ignoredFailure(this.params.logger, 'cancelling a consumer whose channel is already closed');
    if (channel) await Promise.all(tags.map((tag) => channel.cancel(tag).catch(gone)));
  }

  /** Requeues unsettled deliveries, runs `onClose`, closes the channel and connection. */
  async close(): Promise<void> {
    await this.cancel();
    this.state = 'closed';
    const channel = this.channel;
    this.channel = undefined;
    if (channel) {
      try {
        this.acks?.flush(); // acks still queued must not be requeued below
        channel.nackAll(true);
      } catch {
        // channel already gone: the broker requeues by itself
      }
      await this.params.onClose?.(channel).catch((error: unknown) => this.params.logger.warn({ err: error }, 'cleanup at close failed'));
      await channel.close().catch(ignoredFailure(this.params.logger, 'closing a consumer channel that is already closed'));
    }
    this.params.connection.off('connected', this.onConnected);
    this.params.connection.off('lost', this.onConnectionLost);
    if (!this.params.sharedConnection) await this.params.connection.close();
  }

  private async open(model: ChannelModel): Promise<void> {
    const generation = ++this.generation;
    const channel = await model.createChannel();
    channel.on('error', (error: Error) => this.params.logger.warn({ err: error }, 'consumer channel error'));
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined;
      if (this.state === 'running' && this.params.connection.current === model) void this.restartLater();
    });
    try {
      if (this.params.prefetch > 0) await channel.prefetch(this.params.prefetch, false);
      const queues = await this.params.setup(channel);
      this.channel = channel;
      this.acks = new AckBatcher(channel);
      const tags = new Map<string, string>();
      for (const queue of queues) tags.set(queue, await this.consume(channel, generation, queue));
      this.consumerTags = tags;
    } catch (error) {
      // The broker may have closed the channel over the failure itself; `error` is what matters.
      await channel.close().catch(ignoredFailure(this.params.logger, 'closing a consumer channel the broker already closed'));
      if (isPreconditionFailure(error)) throw declarationMismatch('the listener queues', error);
      throw error;
    }
  }

  private async consume(channel: Channel, generation: number, queue: string): Promise<string> {
    const { consumerTag } = await channel.consume(queue, (message) => this.receive(channel, generation, queue, message), {
      noAck: this.params.autoAck ?? false,
      arguments: this.offsets.isStream(queue) ? this.offsets.consumeArguments(queue) : this.params.consumerArguments,
    });
    return consumerTag;
  }

  private receive(channel: Channel, generation: number, queue: string, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled us (queue deleted, leader moved with x-cancel-on-ha-failover).
      this.params.logger.warn({ queue }, 'broker cancelled the consumer; declaring the queue again and consuming it');
      this.offsets.reset(queue);
      if (this.state === 'running') void this.reconsume(channel, generation, queue);
      return;
    }
    if (this.offsets.isStream(queue)) this.offsets.saw(queue, message);
    const delivery = this.toDelivery(channel, generation, queue, message);
    try {
      this.params.handler(delivery);
    } catch (error) {
      this.params.logger.error({ err: error, queue }, 'delivery handler threw; message requeued');
      delivery.requeue();
    }
  }

  private toDelivery(channel: Channel, generation: number, queue: string, message: ConsumeMessage): Delivery {
    const acks = this.params.autoAck || this.channel !== channel ? undefined : this.acks;
    acks?.delivered(message.fields.deliveryTag);
    return new AmqpDelivery(this, channel, generation, queue, message, acks);
  }

  /** True while `channel` of `generation` is still the one consuming and expects acks. */
  isCurrent(channel: Channel, generation: number): boolean {
    return !this.params.autoAck && generation === this.generation && this.channel === channel;
  }

  /** Moves a message to the dead-letter queue (used by {@link AmqpDelivery}). */
  deadLetterMessage(message: ConsumeMessage, queue: string, reason: string): Promise<void> {
    return this.params.deadLetter(message, queue, reason);
  }

  /** The consumer's logger. */
  get logger(): Logger {
    return this.params.logger;
  }

  /**
   * After a broker-side cancel: runs the declarations again (the queue may be gone) and
   * consumes the queue again on the same channel, leaving the other queues' deliveries
   * alone. If that fails the channel is closed and the whole consumer restarts.
   */
  private async reconsume(channel: Channel, generation: number, queue: string): Promise<void> {
    this.consumerTags.delete(queue);
    try {
      await this.params.setup(channel);
      if (this.state !== 'running' || generation !== this.generation || this.channel !== channel) return;
      this.consumerTags.set(queue, await this.consume(channel, generation, queue));
      this.params.logger.info({ queue }, 'consuming again after the broker cancelled the consumer');
    } catch (error) {
      this.params.logger.error({ err: error, queue }, 'could not consume again after a cancel; restarting the consumer');
      // Closing it is what restarts the consumer; one already closed restarts all the same.
      await channel.close().catch(ignoredFailure(this.params.logger, 'closing a consumer channel that is already closed'));
    }
  }

  private async restartLater(): Promise<void> {
    await sleep(1000);
    const model = this.params.connection.current;
    if (model && this.state === 'running' && !this.channel) await this.restart(model);
  }

  private async restart(model: ChannelModel): Promise<void> {
    if (this.restarting) return;
    this.restarting = true;
    try {
      await this.open(model);
      this.params.logger.info('consumer restarted');
    } catch (error) {
      this.params.logger.error({ err: error }, 'could not restart the consumer; retrying');
      void this.restartLater();
    } finally {
      this.restarting = false;
    }
  }
}

/**
 * A delivery from a consumer channel. Settling is done once; a delivery whose channel
 * has closed since is left alone, the broker redelivers it.
 */
class AmqpDelivery implements Delivery {
  readonly body: Buffer;
  readonly exchange: string;
  readonly routingKey: string;
  readonly redelivered: boolean;
  readonly deliveryCount: number | undefined;
  readonly headers: Readonly<Record<string, unknown>> | undefined;
  private settled = false;

  constructor(
    private readonly consumer: Consumer,
    private readonly channel: Channel,
    private readonly generation: number,
    readonly queue: string,
    private readonly message: ConsumeMessage,
    private readonly acks: AckBatcher | undefined,
  ) {
    this.body = message.content;
    this.exchange = message.fields.exchange;
    this.routingKey = message.fields.routingKey;
    this.redelivered = message.fields.redelivered;
    this.headers = message.properties.headers;
    const countHeader = message.properties.headers?.['x-delivery-count'];
    this.deliveryCount = typeof countHeader === 'number' ? countHeader : undefined;
  }

  ack(): void {
    if (this.claim()) this.run(() => this.acks?.ack(this.message.fields.deliveryTag));
  }

  requeue(): void {
    if (this.claim()) this.run(() => this.acks?.requeue(this.message.fields.deliveryTag));
  }

  async deadLetter(reason: string): Promise<void> {
    if (this.settled) return;
    try {
      await this.consumer.deadLetterMessage(this.message, this.queue, reason);
    } catch (error) {
      this.consumer.logger.error({ err: error, queue: this.queue }, 'could not dead-letter a message; requeued');
      this.requeue();
      return;
    }
    this.ack();
  }

  private claim(): boolean {
    if (this.settled) return false;
    this.settled = true;
    return this.consumer.isCurrent(this.channel, this.generation);
  }

  private run(action: () => void): void {
    try {
      action();
    } catch (error) {
      this.consumer.logger.debug({ err: error }, 'could not settle a delivery; the broker will redeliver it');
    }
  }
}
