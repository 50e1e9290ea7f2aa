/**
 * The broker's refusal of a declaration (queue or exchange) because the entity exists
 * with other flags: told by the AMQP reply code, turned into an error that says what
 * to change.
 */
import { TransportError } from '../../errors.js';
import { describeDestination } from './publish-request.js';

/** AMQP reply code 406 PRECONDITION_FAILED (amqplib sets it as `code` on the close error). */
const PRECONDITION_FAILED = 406;

/** True for a 406 PRECONDITION_FAILED (a redeclaration with other flags). */
export function isPreconditionFailure(error: unknown): boolean {
  return (error as { code?: unknown } | null | undefined)?.code === PRECONDITION_FAILED;
}

/** The error for a declaration the broker refused because the entity exists with other flags. */
export function declarationMismatch(request: { exchange: string; routingKey: string } | string, error: unknown): TransportError {
  const what = typeof request === 'string' ? request : describeDestination(request);
  return new TransportError(
    `the broker refused to declare ${what}: ${(error as Error).message}. ` +
      'It already exists with other flags: set rabbit_quorum_queue / amqp_durable_queues / amqp_auto_delete in the transport URL to match the existing deployment',
    { cause: error },
  );
}
