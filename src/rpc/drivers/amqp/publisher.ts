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
 * did arrive). What a channel failure means is decided in `publisher-channel.ts`.
 */
import type { Logger } from '../../../log/logger.js';
import { MessageUndeliverable, TransportError } from '../../errors.js';
import type { TransportOptions } from '../../transport-options.js';
import { raceDeadline, sleep } from '../../util/time.js';
import type { BrokerConnection } from './connection.js';
import type { RpcMetrics } from '../../telemetry/metrics.js';
import { declarationMismatch, isPreconditionFailure } from './declaration-errors.js';
import { PinnedChannelPool } from './pinned-channel-pool.js';
import {
  PublishOptionsCache,
  describeDestination as describe,
  notConfirmedInTime,
  sendTimeoutSeconds,
  type PublishRequest,
} from './publish-request.js';
import {
  PublishNacked,
  closedOverMissingExchange,
  confirmFailure,
  declaredOn,
  isChannelLoss,
  isDeclarationRefused,
  takeReturn,
  type PooledChannel,
} from './publisher-channel.js';


/** Pause before sending a nacked message again. */
const NACK_PAUSE_MS = 200;

/**
 * Pooled confirm-channel publisher.
 *
 * @internal
 */
export class Publisher {
  private readonly channels: PinnedChannelPool;
  private readonly publishOptions = new PublishOptionsCache();

  constructor(
    private readonly connection: BrokerConnection,
    private readonly options: TransportOptions,
    private readonly logger: Logger,
    private readonly metrics?: RpcMetrics,
  ) {
    this.channels = new PinnedChannelPool(connection, options, logger);
  }

  /** Channels borrowed from the pool now (the pinned one and those draining). */
  get borrowedChannels(): number {
    return this.channels.borrowed;
  }

  /** Channels borrowed and idle in the pool, for the metrics. */
  channelCounts(): { inUse: number; idle: number } {
    return { inUse: this.channels.borrowed, idle: this.channels.available };
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
  close(): Promise<void> {
    return this.channels.close();
  }

  /**
   * The pinned channel with the request's declarations done on it, borrowing a new one
   * from the pool when there is none (or it closed). On the hot path this returns the
   * pinned channel without waiting; undefined means "try again" (the channel closed).
   */
  private channelFor(request: PublishRequest): PooledChannel | undefined | Promise<PooledChannel | undefined> {
    const pinned = this.channels.pinned;
    if (pinned !== undefined && pinned.open) {
      if (declaredOn(pinned, request)) return pinned;
      return this.declareOn(pinned, request);
    }
    if (pinned !== undefined) this.channels.unpin(pinned);
    return this.pin(request).then((pooled) => (declaredOn(pooled, request) ? pooled : this.declareOn(pooled, request)));
  }

  /** Borrows a channel to pin; the pool bounds the wait by `send_timeout` and validates it. */
  private async pin(request: PublishRequest): Promise<PooledChannel> {
    await this.connected(request);
    try {
      return await this.channels.pin();
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
          const key = declaration.key;
          declaring = declaration.declare(pooled.channel).then(
            () => {
              pooled.declared.add(key);
              pooled.declaring.delete(key);
            },
            (error: unknown) => {
              pooled.declaring.delete(key);
              throw error;
            },
          );
          pooled.declaring.set(key, declaring);
        }
        await declaring;
      }
      return pooled;
    } catch (error) {
      // Told before the channel is marked closed below: a loss, unless the broker refused the declaration itself.
      const lost = !isDeclarationRefused(error) && isChannelLoss(pooled, error);
      pooled.open = false;
      this.channels.unpin(pooled);
      if (isPreconditionFailure(error)) throw declarationMismatch(request, error);
      if (lost) return undefined;
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
      const lost = isChannelLoss(pooled, error); // told before the channel is marked closed below
      pooled.open = false;
      this.channels.unpin(pooled);
      if (lost) return false;
      throw error;
    }
    let unconfirmed: TransportError | undefined;
    try {
      // A full buffer: wait for it to drain and for the confirm (Promise.all watches
      // both at once, so an early nack is never an unhandled rejection).
      const settled = accepted ? confirmed : Promise.all([this.channels.drain(pooled), confirmed]).then(() => undefined);
      await raceDeadline(settled, deadline, () => (unconfirmed = notConfirmedInTime(request, sendTimeoutSeconds(request, this.options))));
      return true;
    } catch (error) {
      if (error instanceof MessageUndeliverable || error === unconfirmed) throw error;
      if (error instanceof PublishNacked && Date.now() < deadline) return this.afterNack(pooled, request, deadline);
      if (!isChannelLoss(pooled, error)) {
        throw new TransportError(`broker refused the message to ${describe(request)}: ${(error as Error)?.message ?? error}`);
      }
      this.channels.unpin(pooled);
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
    if (this.channels.pinned === pooled) this.channels.unpin(pooled);
    else this.channels.giveBack(pooled);
    await sleep(Math.min(NACK_PAUSE_MS, Math.max(0, deadline - Date.now())));
    return false;
  }

  /** Writes the message; `confirmed` settles with the broker's confirm. */
  private write(pooled: PooledChannel, request: PublishRequest): { accepted: boolean; confirmed: Promise<void> } {
    let accepted = true;
    const properties = this.publishOptions.for(request);
    const confirmed = new Promise<void>((resolve, reject) => {
      accepted = pooled.channel.publish(request.exchange, request.routingKey, request.body, properties, (error) => {
        if (error) return reject(confirmFailure(pooled));
        if (request.mandatory && takeReturn(pooled, request.routingKey)) {
          return reject(new MessageUndeliverable(`no queue "${request.routingKey}" to deliver to`, request.routingKey));
        }
        resolve();
      });
    });
    return { accepted, confirmed };
  }
}
