/**
 * The publisher: a generic-pool of confirm channels on one sending connection
 * (max `rpc_conn_pool_size`, validated on borrow, acquire bounded by `send_timeout`).
 * A channel is returned to the pool as soon as the message is written, so confirms
 * are pipelined; the caller's promise settles on the broker's ack. A channel lost
 * before the ack is replaced and the message sent again until the deadline.
 */
import { once } from 'node:events';
import * as genericPool from 'generic-pool';
import type { ConfirmChannel, Options } from 'amqplib';
import type { Logger } from '../../../log/logger.js';
import { MessageUndeliverable, TransportError } from '../../errors.js';
import type { TransportOptions } from '../../transport-options.js';
import type { BrokerConnection } from './connection.js';

/** Properties on every message, as kombu sends them (spec §2.1). */
export const BASE_PROPERTIES: Readonly<Options.Publish> = Object.freeze({
  contentType: 'application/json',
  contentEncoding: 'utf-8',
  deliveryMode: 2,
  priority: 0,
  headers: {},
});

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
  properties?: Options.Publish;
  mandatory?: boolean;
  declarations?: readonly Declaration[];
}

interface PooledChannel {
  channel: ConfirmChannel;
  open: boolean;
  declared: Set<string>;
  /** basic.return counts per routing key not yet matched to their confirm. */
  returned: Map<string, number>;
}

/** Pooled confirm-channel publisher. */
export class Publisher {
  private readonly pool: genericPool.Pool<PooledChannel>;

  constructor(
    private readonly connection: BrokerConnection,
    private readonly options: TransportOptions,
    private readonly logger: Logger,
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

  /**
   * Publishes and resolves when the broker confirmed. Rejects with
   * MessageUndeliverable when a mandatory message was returned, or TransportError
   * when the deadline (`send_timeout`) passes or the broker refuses.
   */
  async publish(request: PublishRequest): Promise<void> {
    const deadline = Date.now() + this.options.send_timeout * 1000;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.tryPublish(request);
      if (outcome === 'confirmed') return;
      if (Date.now() >= deadline) {
        throw new TransportError(`publish to ${describe(request)} not confirmed within ${this.options.send_timeout}s (${attempt} attempts)`);
      }
      this.logger.debug({ target: describe(request), attempt }, 'publisher channel lost before confirm; sending again');
    }
  }

  /** Closes every channel. */
  async close(): Promise<void> {
    await this.pool.drain().catch(() => {});
    await this.pool.clear().catch(() => {});
  }

  private async tryPublish(request: PublishRequest): Promise<'confirmed' | 'retry'> {
    const pooled = await this.acquire(request);
    let confirmed: Promise<void>;
    try {
      // Declarations are awaited only the first time on a channel, so the hot path
      // writes and returns the channel in the same tick it got it.
      const pending = request.declarations?.filter((declaration) => !pooled.declared.has(declaration.key));
      if (pending?.length) for (const declaration of pending) await this.declare(pooled, declaration);
      confirmed = this.write(pooled, request);
      if (!pooled.open) throw new TransportError('channel closed');
    } catch (error) {
      void this.pool.destroy(pooled).catch(() => {});
      if (isPreconditionFailure(error)) throw declarationMismatch(request, error);
      if (error instanceof TransportError || isChannelClosed(error)) return 'retry';
      throw error;
    }
    void this.pool.release(pooled).catch(() => {});
    try {
      await confirmed;
      return 'confirmed';
    } catch (error) {
      if (error instanceof MessageUndeliverable) throw error;
      if (pooled.open || !isChannelClosed(error)) {
        throw new TransportError(`broker refused the message to ${describe(request)}: ${(error as Error)?.message ?? error}`);
      }
      return 'retry';
    }
  }

  /** Borrows a channel; generic-pool bounds the wait by `send_timeout`. */
  private async acquire(request: PublishRequest): Promise<PooledChannel> {
    try {
      return await this.pool.acquire();
    } catch (error) {
      throw new TransportError(
        `could not publish to ${describe(request)} within ${this.options.send_timeout}s: ${this.connection.describeState()}`,
        { cause: error },
      );
    }
  }

  /** Writes the message; the promise settles with the broker's confirm. */
  private write(pooled: PooledChannel, request: PublishRequest): Promise<void> {
    let accepted = true;
    const confirmed = new Promise<void>((resolve, reject) => {
      const properties = { ...BASE_PROPERTIES, ...request.properties, mandatory: request.mandatory ?? false };
      accepted = pooled.channel.publish(request.exchange, request.routingKey, request.body, properties, (error) => {
        if (error) return reject(pooled.open ? error : new TransportError('channel closed'));
        if (request.mandatory && takeReturn(pooled, request.routingKey)) {
          return reject(new MessageUndeliverable(`no queue "${request.routingKey}" to deliver to`, request.routingKey));
        }
        resolve();
      });
    });
    confirmed.catch(() => {}); // observed by the caller; avoid an unhandled rejection on the retry path
    if (!accepted) return once(pooled.channel, 'drain').then(() => confirmed);
    return confirmed;
  }

  private async declare(pooled: PooledChannel, declaration: Declaration): Promise<void> {
    await declaration.declare(pooled.channel);
    pooled.declared.add(declaration.key);
  }

  private async createChannel(): Promise<PooledChannel> {
    const model = await this.connection.connect();
    const channel = await model.createConfirmChannel();
    const pooled: PooledChannel = { channel, open: true, declared: new Set(), returned: new Map() };
    channel.on('error', (error: Error) => {
      pooled.open = false;
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
