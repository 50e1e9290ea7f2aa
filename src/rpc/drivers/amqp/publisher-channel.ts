/**
 * One confirm channel of the publisher's pool and what its failures mean. A failure is
 * classified by type and channel state, never by message text:
 *
 * - amqplib throws {@link IllegalOperationError} for any operation on a channel (or
 *   connection) that is closing or closed;
 * - a confirm callback that fails after the channel closed fails with
 *   {@link ChannelLostBeforeConfirm}, one that fails while it is open is the broker's
 *   nack ({@link PublishNacked}): amqplib fails unconfirmed publishes only on those two
 *   occasions;
 * - a declaration that fails on a channel that has closed meanwhile was cut off by the
 *   loss (amqplib rejects it before it emits `close`, so `open` is already false when
 *   the rejection is seen).
 */
import { IllegalOperationError, type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { Logger } from '../../../log/logger.js';
import type { PublishRequest } from './publish-request.js';

/** AMQP reply code 404 NOT_FOUND, the code a publish to a missing exchange closes its channel with. */
const NOT_FOUND = 404;
/** AMQP class ids of the exchange (40) and queue (50) methods: the ones a declaration sends. */
const DECLARATION_CLASS_IDS: ReadonlySet<number> = new Set([40, 50]);

/** A borrowed confirm channel and its bookkeeping. */
export interface PooledChannel {
  channel: ConfirmChannel;
  /** False from the moment the channel starts closing. */
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

/** The channel closed before the broker confirmed a publish: it may or may not have arrived. */
export class ChannelLostBeforeConfirm extends Error {
  override readonly name = 'ChannelLostBeforeConfirm';
  constructor(cause?: Error) {
    super('the channel closed before the broker confirmed the publish', { cause });
  }
}

/** The broker nacked a publish: it did not take the message. */
export class PublishNacked extends Error {
  override readonly name = 'PublishNacked';
  constructor() {
    super('the broker nacked the publish');
  }
}

/** Opens a confirm channel on `model` and watches its error, close and return events. */
export async function openPooledChannel(model: ChannelModel, logger: Logger): Promise<PooledChannel> {
  const channel = await model.createConfirmChannel();
  const pooled: PooledChannel = { channel, open: true, declared: new Set(), declaring: new Map(), returned: new Map() };
  channel.on('error', (error: Error) => {
    pooled.open = false;
    pooled.closedBy = error;
    logger.warn({ err: error }, 'publisher channel error');
  });
  // Prepended: `open` must be false before amqplib's own close listener fails the
  // unconfirmed publishes, so that their callbacks tell a loss from a nack.
  channel.prependListener('close', () => {
    pooled.open = false;
  });
  channel.on('return', (message: { fields: { routingKey: string } }) => {
    const key = message.fields.routingKey;
    pooled.returned.set(key, (pooled.returned.get(key) ?? 0) + 1);
  });
  return pooled;
}

/** The error a failed confirm callback stands for (see the module comment). */
export function confirmFailure(pooled: PooledChannel): Error {
  return pooled.open ? new PublishNacked() : new ChannelLostBeforeConfirm(pooled.closedBy);
}

/** True when `error` means the channel was lost (send again on another one). */
export function isChannelLoss(pooled: PooledChannel, error: unknown): boolean {
  return error instanceof ChannelLostBeforeConfirm || error instanceof IllegalOperationError || !pooled.open;
}

/**
 * True when the broker closed the channel over a declaration itself (amqplib's close
 * error carries the reply code and the class of the method that caused it): sending
 * again on a new channel would be refused the same way.
 */
export function isDeclarationRefused(error: unknown): boolean {
  const closed = error as { code?: unknown; classId?: unknown } | null | undefined;
  return typeof closed?.code === 'number' && typeof closed.classId === 'number' && DECLARATION_CLASS_IDS.has(closed.classId);
}

/**
 * True when the broker closed the channel because this request's exchange does not
 * exist and the request declares nothing: sending again cannot help. (A request with
 * declarations is sent again; the new channel declares its exchange first.) The code
 * says "not found"; only the broker's text names which exchange, and publishes to
 * several exchanges share the channel.
 */
export function closedOverMissingExchange(pooled: PooledChannel, request: PublishRequest): boolean {
  const error = pooled.closedBy;
  if (error?.code !== NOT_FOUND || request.exchange === '') return false;
  if (!error.message.includes(`no exchange '${request.exchange}'`)) return false;
  return !request.declarations?.length;
}

/** True when every declaration the request needs was done on this channel. */
export function declaredOn(pooled: PooledChannel, request: PublishRequest): boolean {
  const declarations = request.declarations;
  if (declarations === undefined) return true;
  for (const declaration of declarations) if (!pooled.declared.has(declaration.key)) return false;
  return true;
}

/** Takes one basic.return seen for `routingKey` (a mandatory message with no queue), if any. */
export function takeReturn(pooled: PooledChannel, routingKey: string): boolean {
  const count = pooled.returned.get(routingKey) ?? 0;
  if (count === 0) return false;
  if (count === 1) pooled.returned.delete(routingKey);
  else pooled.returned.set(routingKey, count - 1);
  return true;
}
