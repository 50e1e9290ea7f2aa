/**
 * The publisher's channels: a generic-pool of confirm channels on one connection (max
 * `rpc_conn_pool_size`, validated on borrow, a borrow bounded by `send_timeout`), one
 * of them borrowed and "pinned" for publishes while it is open and has buffer room.
 * A pinned channel whose buffer filled is unpinned and goes back to the pool once it
 * drained; a closed one is destroyed.
 */
import * as genericPool from 'generic-pool';
import type { Logger } from '../../../log/logger.js';
import { TransportError } from '../../errors.js';
import type { TransportOptions } from '../../transport-options.js';
import type { BrokerConnection } from './connection.js';
import { ignoredFailure } from './ignored-failure.js';
import { openPooledChannel, type PooledChannel } from './publisher-channel.js';

/** Borrowed channels idle this long go back to the broker. */
const IDLE_CHANNEL_MS = 1_200_000;
const EVICTION_RUN_MS = 60_000;

/** The confirm-channel pool and the pinned channel. */
export class PinnedChannelPool {
  private readonly pool: genericPool.Pool<PooledChannel>;
  /** The borrowed channel publishes go to, while it is open and its buffer has room. */
  pinned: PooledChannel | undefined;
  /** The borrow in progress for {@link pinned}; concurrent publishes share it. */
  private pinning: Promise<PooledChannel> | undefined;
  /** Borrowed channels waiting for their buffer to drain before they go back to the pool. */
  private readonly draining = new Set<PooledChannel>();
  private closing = false;

  constructor(connection: BrokerConnection, options: TransportOptions, private readonly logger: Logger) {
    this.pool = genericPool.createPool<PooledChannel>(
      {
        create: async () => openPooledChannel(await connection.connect(), logger),
        destroy: async (pooled) => {
          pooled.open = false;
          await pooled.channel.close().catch(ignoredFailure(logger, 'closing a publisher channel that is already closed'));
        },
        validate: async (pooled) => pooled.open,
      },
      {
        max: options.rpc_conn_pool_size,
        min: 0,
        testOnBorrow: true,
        fifo: false,
        acquireTimeoutMillis: Math.max(1, options.send_timeout * 1000),
        idleTimeoutMillis: IDLE_CHANNEL_MS,
        evictionRunIntervalMillis: EVICTION_RUN_MS,
      },
    );
  }

  /** Channels borrowed from the pool now (the pinned one and those draining). */
  get borrowed(): number {
    return this.pool.borrowed;
  }

  /** Channels idle in the pool. */
  get available(): number {
    return this.pool.available;
  }

  /** Borrows a channel and pins it; rejects with the pool's error when none comes in time. */
  pin(): Promise<PooledChannel> {
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
    return this.pinning;
  }

  /** Stops publishing on `pooled` (closed or nacking), and hands it back. */
  unpin(pooled: PooledChannel): void {
    if (this.pinned === pooled) {
      this.pinned = undefined;
      this.giveBack(pooled);
    }
  }

  /** Waits until the channel's buffer drained; meanwhile other publishes use another channel. */
  async drain(pooled: PooledChannel): Promise<void> {
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

  /** Returns a borrowed channel: released when still open, destroyed otherwise. */
  giveBack(pooled: PooledChannel): void {
    this.draining.delete(pooled);
    if (!this.pool.isBorrowedResource(pooled)) return;
    // Both reject only for a resource the pool no longer counts as borrowed (checked above).
    const returning = ignoredFailure(this.logger, 'the pool no longer held a returned channel');
    if (pooled.open) void this.pool.release(pooled).catch(returning);
    else void this.pool.destroy(pooled).catch(returning);
  }

  /** Returns every channel to the pool and closes them all. */
  async close(): Promise<void> {
    this.closing = true;
    // A failed borrow was reported to the publishes that waited for it.
    await this.pinning?.catch(ignoredFailure(this.logger, 'a channel borrow failed while the publisher closed'));
    const pinned = this.pinned;
    this.pinned = undefined;
    if (pinned) this.giveBack(pinned);
    for (const pooled of [...this.draining]) this.giveBack(pooled);
    const poolClosing = ignoredFailure(this.logger, 'the channel pool failed to close a channel the broker has already released');
    await this.pool.drain().catch(poolClosing);
    await this.pool.clear().catch(poolClosing);
  }
}
