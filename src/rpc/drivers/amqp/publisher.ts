/**
 * The publisher: a generic-pool of confirm channels on one sending connection
 * (max `rpc_conn_pool_size`, validated on borrow, acquire bounded by `send_timeout`).
 *
 * Publishes go to one borrowed ("pinned") channel while it is open and its buffer has
 * room, written in the caller's tick with no borrow per message; confirms are
 * pipelined and the caller's promise settles on the broker's ack. When the pinned
 * channel's buffer is full, the publish that filled it waits for `drain` and the
 * channel goes back to the pool once drained, while later publishes borrow another.
 * A channel lost before the ack is destroyed and the message sent again on a new one
 * until the deadline (`_unique_id` lets servers drop the duplicate if the first copy
 * did arrive).
 */
import * as genericPool from 'generic-pool';
import type { ConfirmChannel, Options } from 'amqplib';
import type { Logger } from '../../../log/logger.js';
import { MessageUndeliverable, TransportError } from '../../errors.js';
import type { TransportOptions } from '../../transport-options.js';
import { raceDeadline, sleep } from '../../util/time.js';
import type { BrokerConnection } from './connection.js';
import type { RpcMetrics } from '../../telemetry/metrics.js';

/** Properties on every message, as kombu sends them (docs/wire-format.md §2.1). */
export const BASE_PROPERTIES: Readonly<Options.Publish> = Object.freeze({
  contentType: 'application/json',
  contentEncoding: 'utf-8',
  deliveryMode: 2,
  priority: 0,
  headers: {},
});

/** Pause before sending a nacked message again. */
const NACK_PAUSE_MS = 200;

/** The publish options of a message with no extra properties. */
const PLAIN: Readonly<Options.Publish> = Object.freeze({ ...BASE_PROPERTIES, mandatory: false });
const MANDATORY: Readonly<Options.Publish> = Object.freeze({ ...BASE_PROPERTIES, mandatory: true });

/** A declaration a publish needs on its channel first (done once per channel). */
export interface Declaration {
  key: string;
  declare(channel: ConfirmChannel): Promise<unknown>;
}

/** One publish. */
export interface PublishRequest {
  exchange: string;
  routingKey: string;
  body: Buffer;
  /** Properties over {@link BASE_PROPERTIES}. */
  properties?: Options.Publish;
  /** Per-message TTL in ms (the `expiration` property). */
  expirationMs?: number;
  /** Bound of this publish in ms, instead of `send_timeout`. */
  sendTimeoutMs?: number;
  mandatory?: boolean;
  declarations?: readonly Declaration[];
}

interface PooledChannel {
  channel: ConfirmChannel;
  open: boolean;
  /** Declarations done on this channel, and those in progress. */
  declared: Set<string>;
  declaring: Map<string, Promise<void>>;
  /** Settles when the channel's full buffer drained (or it closed). */
  drained?: Promise<void>;
  /** The error the broker closed the channel with, if it did. */
  closedBy?: Error & { code?: number };
  /** basic.return counts per routing key not yet matched to their confirm. */
  returned: Map<string, number>;
}

/** Pooled confirm-channel publisher. */
export class Publisher {
  private readonly pool: genericPool.Pool<PooledChannel>;
  /** The borrowed channel publishes go to, while it is open and its buffer has room. */
  private pinned: PooledChannel | undefined;
  /** The borrow in progress for {@link pinned}; concurrent publishes share it. */
  private pinning: Promise<PooledChannel> | undefined;
  /** Borrowed channels waiting for their buffer to drain before they go back to the pool. */
  private readonly draining = new Set<PooledChannel>();
  private closing = false;
  /** Publish options per message TTL: calls of one client all send the same one. */
  private readonly expiringOptions = new Map<number, Readonly<Options.Publish>>();

  constructor(
    private readonly connection: BrokerConnection,
    private readonly options: TransportOptions,
    private readonly logger: Logger,
    private readonly metrics?: RpcMetrics,
  ) {
    this.pool = genericPool.createPool<PooledChannel>(
      {
        create: () => this.createChannel(),
        destroy: async (pooled) => {
          pooled.open = false;
          await pooled.channel.close().catch(() => {});
        },
        validate: async (pooled) => pooled.open,
      },
      {
        max: options.rpc_conn_pool_size,
        min: 0,
        testOnBorrow: true,
        fifo: false,
        acquireTimeoutMillis: Math.max(1, options.send_timeout * 1000),
        idleTimeoutMillis: 1_200_000,
        evictionRunIntervalMillis: 60_000,
      },
    );
  }

  /** Channels borrowed from the pool now (the pinned one and those draining). */
  get borrowedChannels(): number {
    return this.pool.borrowed;
  }

  /** Channels borrowed and idle in the pool, for the metrics. */
  channelCounts(): { inUse: number; idle: number } {
    return { inUse: this.pool.borrowed, idle: this.pool.available };
  }

  /**
   * Publishes and resolves when the broker confirmed. Rejects with
   * MessageUndeliverable when a mandatory message was returned, or TransportError
   * when the deadline (`send_timeout`) passes or the broker refuses.
   */
  publish(request: PublishRequest): Promise<void> {
    if (this.metrics === undefined) return this.publishUnmetered(request);
    const metrics = this.metrics;
    const started = performance.now();
    return this.publishUnmetered(request).then(() => metrics.publishConfirmed((performance.now() - started) / 1000));
  }

  private publishUnmetered(request: PublishRequest): Promise<void> {
    const deadline = Date.now() + (request.sendTimeoutMs ?? this.options.send_timeout * 1000);
    if (this.connection.blockedReason !== undefined) return this.sendWhenUnblocked(request, deadline);
    const ready = this.channelFor(request);
    // Hot path: a pinned channel with its declarations done; the message is written
    // before publish() returns.
    if (ready !== undefined && !(ready instanceof Promise)) return this.sendUntilConfirmed(request, deadline, this.sendOn(ready, request, deadline));
    return this.sendUntilConfirmed(request, deadline, undefined, ready);
  }

  /**
   * Sends (again) until confirmed or the deadline. `first` is an attempt already under
   * way; `channel` the channel {@link channelFor} is getting for the first one.
   */
  private async sendUntilConfirmed(
    request: PublishRequest,
    deadline: number,
    first?: Promise<boolean>,
    channel?: Promise<PooledChannel | undefined>,
  ): Promise<void> {
    if (first !== undefined && (await first)) return;
    for (let attempt = first === undefined ? 1 : 2; ; attempt++) {
      const pooled = await (attempt === 1 && channel !== undefined ? channel : this.channelFor(request));
      if (pooled !== undefined && (await this.sendOn(pooled, request, deadline))) return;
      if (Date.now() >= deadline) {
        throw new TransportError(`publish to ${describe(request)} not confirmed within ${sendTimeoutSeconds(request, this.options)}s (${attempt} attempts)`);
      }
      this.logger.debug({ target: describe(request), attempt }, 'publisher channel lost before confirm; sending again');
    }
  }

  /**
   * While the broker blocks the connection (resource alarm) nothing is written: the
   * publish waits for the block to lift, and fails unsent at the deadline.
   */
  private async sendWhenUnblocked(request: PublishRequest, deadline: number): Promise<void> {
    const reason = this.connection.blockedReason;
    await raceDeadline(this.connection.whenUnblocked(), deadline, () => {
      return new TransportError(
        `publish to ${describe(request)} not sent: the broker is blocking publishers (${reason}) and did not lift it within ${sendTimeoutSeconds(request, this.options)}s`,
      );
    });
    return this.sendUntilConfirmed(request, deadline);
  }

  /** Returns every channel to the pool and closes them all. */
  async close(): Promise<void> {
    this.closing = true;
    await this.pinning?.catch(() => {});
    const pinned = this.pinned;
    this.pinned = undefined;
    if (pinned) this.giveBack(pinned);
    for (const pooled of [...this.draining]) this.giveBack(pooled);
    await this.pool.drain().catch(() => {});
    await this.pool.clear().catch(() => {});
  }

  /**
   * The pinned channel with the request's declarations done on it, borrowing a new one
   * from the pool when there is none (or it closed). On the hot path this returns the
   * pinned channel without waiting; undefined means "try again" (the channel closed).
   */
  private channelFor(request: PublishRequest): PooledChannel | undefined | Promise<PooledChannel | undefined> {
    const pinned = this.pinned;
    if (pinned !== undefined && pinned.open) {
      if (declaredOn(pinned, request)) return pinned;
      return this.declareOn(pinned, request);
    }
    if (pinned !== undefined) this.unpin(pinned);
    return this.pin(request).then((pooled) => (declaredOn(pooled, request) ? pooled : this.declareOn(pooled, request)));
  }

  /** Borrows a channel to pin; the pool bounds the wait by `send_timeout` and validates it. */
  private async pin(request: PublishRequest): Promise<PooledChannel> {
    await this.connected(request);
    this.pinning ??= this.pool.acquire().then(
      (pooled) => {
        this.pinning = undefined;
        if (this.closing) {
          this.giveBack(pooled);
          throw new TransportError('the publisher is closing');
        }
        this.pinned = pooled;
        return pooled;
      },
      (error: unknown) => {
        this.pinning = undefined;
        throw error;
      },
    );
    try {
      return await this.pinning;
    } catch (error) {
      throw this.notPublished(request, error);
    }
  }

  /**
   * A publish with a bound of its own (`sendTimeoutMs`) waits at most that long for a
   * broker connection before it asks the pool for a channel, so that giving up leaves
   * no pending borrow behind.
   */
  private async connected(request: PublishRequest): Promise<void> {
    if (request.sendTimeoutMs === undefined || this.connection.current) return;
    try {
      await this.connection.connect(Date.now() + request.sendTimeoutMs);
    } catch (error) {
      throw this.notPublished(request, error);
    }
  }

  private notPublished(request: PublishRequest, cause: unknown): TransportError {
    return new TransportError(`could not publish to ${describe(request)} within ${sendTimeoutSeconds(request, this.options)}s: ${this.connection.describeState()}`, { cause });
  }

  /** Runs the declarations the channel has not done yet; undefined when the channel closed meanwhile. */
  private async declareOn(pooled: PooledChannel, request: PublishRequest): Promise<PooledChannel | undefined> {
    try {
      for (const declaration of request.declarations ?? []) {
        if (pooled.declared.has(declaration.key)) continue;
        let declaring = pooled.declaring.get(declaration.key);
        if (declaring === undefined) {
          declaring = declaration.declare(pooled.channel).then(() => {
            pooled.declared.add(declaration.key);
          });
          declaring.finally(() => pooled.declaring.delete(declaration.key)).catch(() => {});
          pooled.declaring.set(declaration.key, declaring);
        }
        await declaring;
      }
      return pooled;
    } catch (error) {
      pooled.open = false;
      this.unpin(pooled);
      if (isPreconditionFailure(error)) throw declarationMismatch(request, error);
      if (error instanceof TransportError || isChannelClosed(error)) return undefined;
      throw error;
    }
  }

  /**
   * Writes on `pooled` and waits for the confirm: true when confirmed, false when the
   * channel was lost first (send again). A full channel buffer unpins the channel:
   * later publishes borrow another while this one drains. The wait ends at `deadline`
   * (a blocked connection or a queue without its quorum never confirms).
   */
  private async sendOn(pooled: PooledChannel, request: PublishRequest, deadline: number): Promise<boolean> {
    let accepted: boolean;
    let confirmed: Promise<void>;
    try {
      ({ accepted, confirmed } = this.write(pooled, request));
    } catch (error) {
      pooled.open = false;
      this.unpin(pooled);
      if (isChannelClosed(error)) return false;
      throw error;
    }
    let unconfirmed: TransportError | undefined;
    try {
      const settled = accepted ? confirmed : this.drain(pooled).then(() => confirmed);
      if (!accepted) confirmed.catch(() => {}); // settled's chain reports it
      await raceDeadline(settled, deadline, () => (unconfirmed = notConfirmedInTime(request, sendTimeoutSeconds(request, this.options))));
      return true;
    } catch (error) {
      if (error instanceof MessageUndeliverable || error === unconfirmed) throw error;
      if (isNack(error) && Date.now() < deadline) return this.afterNack(pooled, request, deadline);
      if (pooled.open || !isChannelClosed(error)) {
        throw new TransportError(`broker refused the message to ${describe(request)}: ${(error as Error)?.message ?? error}`);
      }
      this.unpin(pooled);
      if (closedOverMissingExchange(pooled, request)) {
        throw new TransportError(
          `no exchange "${request.exchange}" on the broker to publish ${describe(request)}: ${pooled.closedBy!.message}`,
          { cause: pooled.closedBy },
        );
      }
      return false;
    }
  }

  /**
   * The broker nacked (it did not take the message). A channel whose quorum-queue
   * client lost the leader can go on nacking after a new leader is elected, so the
   * channel is replaced and the message sent again after a short pause.
   */
  private async afterNack(pooled: PooledChannel, request: PublishRequest, deadline: number): Promise<boolean> {
    this.logger.warn({ target: describe(request) }, 'broker nacked a publish; sending it again on a new channel');
    pooled.open = false;
    if (this.pinned === pooled) this.unpin(pooled);
    else this.giveBack(pooled);
    await sleep(Math.min(NACK_PAUSE_MS, Math.max(0, deadline - Date.now())));
    return false;
  }

  /** Writes the message; `confirmed` settles with the broker's confirm. */
  private write(pooled: PooledChannel, request: PublishRequest): { accepted: boolean; confirmed: Promise<void> } {
    let accepted = true;
    const properties = this.publishOptions(request);
    const confirmed = new Promise<void>((resolve, reject) => {
      accepted = pooled.channel.publish(request.exchange, request.routingKey, request.body, properties, (error) => {
        if (error) return reject(pooled.open ? error : new TransportError('channel closed'));
        if (request.mandatory && takeReturn(pooled, request.routingKey)) {
          return reject(new MessageUndeliverable(`no queue "${request.routingKey}" to deliver to`, request.routingKey));
        }
        resolve();
      });
    });
    return { accepted, confirmed };
  }

  /** amqplib's publish options for a request; the common shapes are built once. */
  private publishOptions(request: PublishRequest): Options.Publish {
    const mandatory = request.mandatory ?? false;
    if (request.properties !== undefined || (request.expirationMs !== undefined && mandatory)) {
      return { ...PLAIN, ...request.properties, ...expirationOf(request.expirationMs), mandatory };
    }
    if (request.expirationMs === undefined) return mandatory ? MANDATORY : PLAIN;
    let options = this.expiringOptions.get(request.expirationMs);
    if (options === undefined) {
      options = Object.freeze({ ...PLAIN, ...expirationOf(request.expirationMs) });
      if (this.expiringOptions.size < 64) this.expiringOptions.set(request.expirationMs, options);
    }
    return options;
  }

  /** Waits until the channel's buffer drained; meanwhile other publishes use another channel. */
  private async drain(pooled: PooledChannel): Promise<void> {
    if (this.pinned === pooled) {
      this.pinned = undefined;
      this.draining.add(pooled);
    }
    pooled.drained ??= new Promise<void>((resolve) => {
      const done = () => {
        pooled.channel.off('drain', done);
        pooled.channel.off('close', done);
        pooled.drained = undefined;
        if (this.draining.delete(pooled)) this.giveBack(pooled);
        resolve();
      };
      pooled.channel.on('drain', done);
      pooled.channel.on('close', done);
    });
    await pooled.drained;
  }

  /** Stops publishing on a channel that closed, and hands it back for destruction. */
  private unpin(pooled: PooledChannel): void {
    if (this.pinned === pooled) {
      this.pinned = undefined;
      this.giveBack(pooled);
    }
  }

  /** Returns a borrowed channel: released when still open, destroyed otherwise. */
  private giveBack(pooled: PooledChannel): void {
    this.draining.delete(pooled);
    if (!this.pool.isBorrowedResource(pooled)) return;
    if (pooled.open) void this.pool.release(pooled).catch(() => {});
    else void this.pool.destroy(pooled).catch(() => {});
  }

  private async createChannel(): Promise<PooledChannel> {
    const model = await this.connection.connect();
    const channel = await model.createConfirmChannel();
    const pooled: PooledChannel = { channel, open: true, declared: new Set(), declaring: new Map(), returned: new Map() };
    channel.on('error', (error: Error) => {
      pooled.open = false;
      pooled.closedBy = error;
      this.logger.warn({ err: error }, 'publisher channel error');
    });
    channel.on('close', () => {
      pooled.open = false;
    });
    channel.on('return', (message: { fields: { routingKey: string } }) => {
      const key = message.fields.routingKey;
      pooled.returned.set(key, (pooled.returned.get(key) ?? 0) + 1);
    });
    return pooled;
  }
}

/** A publish the broker took but did not confirm in time: it may still be delivered. */
function notConfirmedInTime(request: PublishRequest, seconds: number): TransportError {
  return new TransportError(
    `publish to ${describe(request)} not confirmed by the broker within ${seconds}s ` +
      '(the broker is blocking publishers or the queue has no quorum); it may still be delivered',
  );
}

/** The `expiration` property for a TTL in ms (a whole number of ms, at least 1). */
function expirationOf(ms: number | undefined): { expiration?: string } {
  return ms === undefined ? {} : { expiration: String(Math.max(1, Math.round(ms))) };
}

/**
 * True when the broker closed the channel because this request's exchange does not
 * exist and the request declares nothing: sending again cannot help. (A request with
 * declarations is sent again; the new channel declares its exchange first.)
 */
function closedOverMissingExchange(pooled: PooledChannel, request: PublishRequest): boolean {
  const error = pooled.closedBy;
  if (error?.code !== 404 || request.exchange === '') return false;
  if (!error.message.includes(`no exchange '${request.exchange}'`)) return false;
  return !request.declarations?.length;
}

/** True when every declaration the request needs was done on this channel. */
function declaredOn(pooled: PooledChannel, request: PublishRequest): boolean {
  const declarations = request.declarations;
  if (declarations === undefined) return true;
  for (const declaration of declarations) if (!pooled.declared.has(declaration.key)) return false;
  return true;
}

function takeReturn(pooled: PooledChannel, routingKey: string): boolean {
  const count = pooled.returned.get(routingKey) ?? 0;
  if (count === 0) return false;
  if (count === 1) pooled.returned.delete(routingKey);
  else pooled.returned.set(routingKey, count - 1);
  return true;
}

function describe(request: { exchange: string; routingKey: string }): string {
  return request.exchange ? `exchange "${request.exchange}" key "${request.routingKey}"` : `queue "${request.routingKey}"`;
}

function isNack(error: unknown): boolean {
  return (error as Error)?.message === 'message nacked';
}

function isChannelClosed(error: unknown): boolean {
  const text = String((error as Error)?.message ?? error);
  return /channel (is )?closed|connection (is )?closed|channel ended|IllegalOperationError/i.test(text) || (error as Error)?.name === 'IllegalOperationError';
}

/** True for a 406 PRECONDITION_FAILED (a redeclaration with other flags). */
export function isPreconditionFailure(error: unknown): boolean {
  return (error as { code?: number })?.code === 406 || /PRECONDITION_FAILED/.test(String((error as Error)?.message));
}

/** The error for a declaration the broker refused because the entity exists with other flags. */
export function declarationMismatch(request: { exchange: string; routingKey: string } | string, error: unknown): TransportError {
  const what = typeof request === 'string' ? request : describe(request);
  return new TransportError(
    `the broker refused to declare ${what}: ${(error as Error).message}. ` +
      'It already exists with other flags: set rabbit_quorum_queue / amqp_durable_queues / amqp_auto_delete in the transport URL to match the existing deployment',
    { cause: error },
  );
}

/** The bound of one publish, in seconds, for messages. */
function sendTimeoutSeconds(request: PublishRequest, options: TransportOptions): number {
  return request.sendTimeoutMs === undefined ? options.send_timeout : request.sendTimeoutMs / 1000;
}
