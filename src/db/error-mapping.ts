/**
 * Turns driver errors (mysql2, better-sqlite3, knex) into the typed errors of
 * `errors.ts`. The only module that knows driver error codes.
 */
import {
  DbConnectionError,
  DbDeadlockError,
  DbError,
  DuplicateEntryError,
} from './errors.js';

interface DriverError {
  code?: unknown;
  errno?: unknown;
  message?: unknown;
  name?: unknown;
}

const MYSQL_DEADLOCK = 1213;
const MYSQL_LOCK_WAIT_TIMEOUT = 1205;
const MYSQL_DUPLICATE_ENTRY = 1062;

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
]);

/** True for a deadlock, a lock-wait timeout or a busy SQLite database: worth re-running. */
export function isRetryableDbError(error: unknown): boolean {
  if (error instanceof DbDeadlockError) return true;
  const { code, errno } = asDriverError(error);
  if (errno === MYSQL_DEADLOCK || errno === MYSQL_LOCK_WAIT_TIMEOUT) return true;
  return typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code);
}

/**
 * True when the server could not be reached or dropped the connection: worth retrying
 * at start-up. Wrong credentials or a missing database are not.
 */
export function isConnectionError(error: unknown): boolean {
  const { code, name } = asDriverError(error);
  return (typeof code === 'string' && CONNECTION_CODES.has(code)) || name === 'KnexTimeoutError';
}

/** The typed error for any thrown value; db errors pass through unchanged. */
export function translateDbError(error: unknown, targetDescription: string): DbError {
  if (error instanceof DbError) return error;
  const driver = asDriverError(error);
  const message = typeof driver.message === 'string' ? driver.message : String(error);
  if (isRetryableDbError(error)) return new DbDeadlockError(message, { cause: error });
  if (driver.errno === MYSQL_DUPLICATE_ENTRY) {
    return new DuplicateEntryError(undefined, /for key '([^']+)'/.exec(message)?.[1], { cause: error });
  }
  if (typeof driver.code === 'string' && /^SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)$/.test(driver.code)) {
    const columns = /constraint failed: (.*)$/.exec(message)?.[1];
    const table = columns?.split('.')[0];
    return new DuplicateEntryError(table, columns, { cause: error });
  }
  if (isConnectionError(error)) {
    return new DbConnectionError(targetDescription, `Lost or could not get a connection to ${targetDescription}: ${message}`, {
      cause: error,
    });
  }
  return new DbError('DbError', message, { cause: error });
}

function asDriverError(error: unknown): DriverError {
  return typeof error === 'object' && error !== null ? (error as DriverError) : {};
}
