/**
 * What one publish asks for ({@link PublishRequest}), the AMQP properties it is sent
 * with, and the wording of its errors.
 */
import type { ConfirmChannel, Options } from 'amqplib';
import { TransportError } from '../../errors.js';
import type { TransportOptions } from '../../transport-options.js';

/** Properties on every message, as kombu sends them (docs/wire-format.md §2.1). */
export const BASE_PROPERTIES: Readonly<Options.Publish> = Object.freeze({
  contentType: 'application/json',
  contentEncoding: 'utf-8',
  deliveryMode: 2,
  priority: 0,
  headers: {},
});

/** The publish options of a message with no extra properties. */
const PLAIN: Readonly<Options.Publish> = Object.freeze({ ...BASE_PROPERTIES, mandatory: false });
const MANDATORY: Readonly<Options.Publish> = Object.freeze({ ...BASE_PROPERTIES, mandatory: true });
/** Distinct message TTLs whose options are kept built (one per client, in practice). */
const MAX_CACHED_TTLS = 64;

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

/** amqplib's publish options per request; the common shapes are built once and shared. */
export class PublishOptionsCache {
  /** Publish options per message TTL: calls of one client all send the same one. */
  private readonly expiring = new Map<number, Readonly<Options.Publish>>();

  /** The options to publish `request` with. */
  for(request: PublishRequest): Options.Publish {
    const mandatory = request.mandatory ?? false;
    if (request.properties !== undefined || (request.expirationMs !== undefined && mandatory)) {
      return { ...PLAIN, ...request.properties, ...expirationOf(request.expirationMs), mandatory };
    }
    if (request.expirationMs === undefined) return mandatory ? MANDATORY : PLAIN;
    let options = this.expiring.get(request.expirationMs);
    if (options === undefined) {
      options = Object.freeze({ ...PLAIN, ...expirationOf(request.expirationMs) });
      if (this.expiring.size < MAX_CACHED_TTLS) this.expiring.set(request.expirationMs, options);
    }
    return options;
  }
}

/** The `expiration` property for a TTL in ms (a whole number of ms, at least 1). */
function expirationOf(ms: number | undefined): { expiration?: string } {
  return ms === undefined ? {} : { expiration: String(Math.max(1, Math.round(ms))) };
}

/** Where a message goes, for error messages: an exchange and key, or a queue. */
export function describeDestination(request: { exchange: string; routingKey: string }): string {
  return request.exchange ? `exchange "${request.exchange}" key "${request.routingKey}"` : `queue "${request.routingKey}"`;
}

/** The bound of one publish, in seconds, for messages. */
export function sendTimeoutSeconds(request: PublishRequest, options: TransportOptions): number {
  return request.sendTimeoutMs === undefined ? options.send_timeout : request.sendTimeoutMs / 1000;
}

/** A publish the broker took but did not confirm in time: it may still be delivered. */
export function notConfirmedInTime(request: PublishRequest, seconds: number): TransportError {
  return new TransportError(
    `publish to ${describeDestination(request)} not confirmed by the broker within ${seconds}s ` +
      '(the broker is blocking publishers or the queue has no quorum); it may still be delivered',
  );
}
