/**
 * Why a connection to the broker failed, in one line an operator can act on: wrong
 * credentials (ACCESS_REFUSED), a virtual host the broker refuses, nothing listening,
 * an unknown host name. Never a password, never a stack.
 */
import { redactUrlPasswords } from '../../../log/logger.js';
import type { BrokerHost } from '../../transport-url.js';

/** One line naming the cause of a failed connection attempt to `host`. */
export function explainConnectError(error: unknown, host: BrokerHost, virtualHost: string): string {
  const message = redactUrlPasswords(error instanceof Error ? error.message : String(error)).split('\n')[0]!;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const where = `${host.hostname}:${host.port}`;
  if (/ACCESS.REFUSED/.test(message)) {
    return `access refused (ACCESS_REFUSED): the broker at ${where} does not accept user "${host.username}" with this password`;
  }
  if (/Expected ConnectionOpenOk; got <ConnectionClose/.test(message) || /NOT_ALLOWED|vhost/i.test(message)) {
    return `virtual host "${virtualHost}" refused (NOT_ALLOWED) by the broker at ${where}: it does not exist, or user "${host.username}" has no permissions on it`;
  }
  if (code === 'ECONNREFUSED') return `connection refused: nothing listens on ${where} (ECONNREFUSED)`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `host name "${host.hostname}" could not be resolved (${code})`;
  if (code === 'ETIMEDOUT' || /timeout/i.test(message)) return `no answer from ${where} in time (${code ?? 'timeout'})`;
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `${where} is unreachable (${code})`;
  return message;
}
