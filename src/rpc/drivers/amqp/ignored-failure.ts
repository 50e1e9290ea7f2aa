/**
 * The one way the amqp driver drops a failure on purpose: it is logged at debug with
 * the reason it is safe to drop, never swallowed silently. Used for clean-up calls on
 * a channel or connection that may already be gone (closing a closed channel throws
 * amqplib's IllegalOperationError; the broker has already released what it held).
 */
import type { Logger } from '../../../log/logger.js';

/**
 * A rejection handler that logs `error` at debug with `why` it is safe to ignore.
 *
 * @param logger - where the debug line goes
 * @param why - why dropping this failure loses nothing (shown in the log line)
 */
export function ignoredFailure(logger: Logger, why: string): (error: unknown) => void {
  return (error: unknown) => logger.debug({ err: error }, `ignored: ${why}`);
}
