/**
 * Opening the pool: the knex configuration for each engine, and the start-up connection
 * check retried with backoff (Nova's sql_max_retries / sql_retry_interval).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import knexFactory, { type Knex } from 'knex';
import type { Logger } from 'pino';
import { redactUrlPasswords } from '../log/logger.js';
import type { ConnectionTarget, MysqlTarget, ResolvedDbConfig, SqliteTarget } from './config.js';
import { DbConnectionError } from './errors.js';
import { isConnectionError } from './error-mapping.js';

/** Creates the knex instance (and its pool) for a target. No connection is opened yet. */
export function createKnex(target: ConnectionTarget, config: ResolvedDbConfig, logger: Logger): Knex {
  // knex's own messages: first line only (no stack), password hidden.
  const clean = (message: unknown): string => hidePassword(String(message).split('\n')[0]!, target);
  const common: Knex.Config = {
    // Never inline bindings into error messages: they may hold secrets.
    compileSqlOnError: false,
    acquireConnectionTimeout: config.acquireTimeoutMs,
    log: {
      warn: (message: string) => logger.warn({ source: 'knex' }, clean(message)),
      error: (message: string) => logger.error({ source: 'knex' }, clean(message)),
      deprecate: (method: string, alternative: string) =>
        logger.warn({ source: 'knex' }, `${method} is deprecated, use ${alternative}`),
      debug: (message: string) => logger.debug({ source: 'knex' }, clean(message)),
    },
  };
  return knexFactory(target.dialect === 'mysql' ? mysqlConfig(target, config, common) : sqliteConfig(target, common));
}

function mysqlConfig(target: MysqlTarget, config: ResolvedDbConfig, common: Knex.Config): Knex.Config {
  return {
    ...common,
    client: 'mysql2',
    connection: {
      host: target.host,
      port: target.port,
      user: target.user,
      password: target.password,
      database: target.database,
      charset: target.charset,
      timezone: 'Z',
      connectTimeout: config.connectTimeoutMs,
      supportBigNumbers: true,
    },
    pool: {
      min: config.minPoolSize,
      max: Math.max(config.maxPoolSize, config.minPoolSize, 1),
      idleTimeoutMillis: config.idleTimeoutMs,
      acquireTimeoutMillis: config.acquireTimeoutMs,
      afterCreate: (connection: MysqlConnection, done: (error: Error | null, connection: unknown) => void) => {
        connection.query("SET time_zone = '+00:00'", (error) => done(error, connection));
      },
    },
  };
}

interface MysqlConnection {
  query(sql: string, callback: (error: Error | null) => void): void;
}

interface SqliteConnection {
  pragma(source: string): unknown;
}

function sqliteConfig(target: SqliteTarget, common: Knex.Config): Knex.Config {
  const inMemory = target.filename === ':memory:';
  return {
    ...common,
    client: 'better-sqlite3',
    connection: { filename: target.filename },
    useNullAsDefault: true,
    // One connection: an in-memory database lives and dies with it, and SQLite has one writer.
    pool: {
      min: 1,
      max: 1,
      idleTimeoutMillis: 2 ** 31 - 1,
      afterCreate: (connection: SqliteConnection, done: (error: Error | null, connection: unknown) => void) => {
        try {
          connection.pragma('foreign_keys = ON');
          connection.pragma('busy_timeout = 5000');
          if (!inMemory) connection.pragma('journal_mode = WAL');
          done(null, connection);
        } catch (error) {
          done(error as Error, connection);
        }
      },
    },
  };
}

/**
 * Waits until the database answers `SELECT 1`, retrying unreachable servers with a
 * doubling wait. Gives up with a {@link DbConnectionError} naming host and database
 * (never the password) after `maxRetries` retries, or at once for errors a retry cannot
 * fix (bad credentials, unknown database).
 */
export async function waitForDatabase(
  knex: Knex,
  target: ConnectionTarget,
  config: ResolvedDbConfig,
  logger: Logger,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await knex.raw('select 1');
      if (attempt > 0) logger.info({ database: target.description }, 'database connection established');
      return;
    } catch (error) {
      const reason = hidePassword(error instanceof Error ? error.message : String(error), target);
      const retriesLeft = config.maxRetries < 0 || attempt < config.maxRetries;
      if (!retriesLeft || !isConnectionError(error)) {
        throw new DbConnectionError(
          target.description,
          `Could not connect to ${target.description} after ${attempt + 1} attempt${attempt === 0 ? '' : 's'}: ${reason}`,
        );
      }
      const waitMs = Math.min(config.retryIntervalMs * 2 ** attempt, config.maxRetryIntervalMs);
      logger.warn(
        { database: target.description, attempt: attempt + 1, retry_in_ms: waitMs, reason },
        `database unreachable, retrying in ${waitMs} ms`,
      );
      await sleep(waitMs);
    }
  }
}

/** Removes the password from a driver message, whatever form it took. */
function hidePassword(message: string, target: ConnectionTarget): string {
  const redacted = redactUrlPasswords(message);
  if (target.dialect !== 'mysql' || target.password === '') return redacted;
  return redacted.split(target.password).join('***');
}
