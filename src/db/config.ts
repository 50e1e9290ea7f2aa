/**
 * createDb's options and the parsing of connection URLs. Option names follow Nova's
 * `sql_*` settings (in milliseconds where Nova used seconds) so the CLI can map a
 * nova.conf-style file onto them one to one.
 */
import type { Logger } from 'pino';
import { redactUrlPasswords } from '../log/logger.js';

/** Options of {@link createDb}. Only `url` is required. */
export interface DbConfig {
  /**
   * Connection URL, SQLAlchemy style as in nova.conf:
   * `mysql://user:pass@host:3306/db?charset=utf8mb4` (also `mariadb://`, `mysql+pymysql://`),
   * `sqlite:///relative/file.db`, `sqlite:////absolute/file.db`, `sqlite://` or `sqlite://:memory:`.
   */
  url: string;
  /** Where SQL echo, slow statements and connection retries are logged. Default: silent. */
  logger?: Logger;
  /** Log every statement at info with bindings, duration, row count and request_id (`sql_echo`). */
  sqlEcho?: boolean;
  /** Statements slower than this are logged at warn even without echo. Default 500 ms. */
  slowQueryMs?: number;
  /** Connections kept open (`sql_min_pool_size`). Default 1. Ignored for SQLite (always 1). */
  minPoolSize?: number;
  /** Most connections open at once (`sql_max_pool_size`). Default 10. Ignored for SQLite (always 1). */
  maxPoolSize?: number;
  /** Idle connections above the minimum are closed after this (`sql_idle_timeout`). Default 3600 s. */
  idleTimeoutMs?: number;
  /** How long a query waits for a free connection before failing. Default 30 s. */
  acquireTimeoutMs?: number;
  /** Timeout of one connection attempt. Default 10 s. */
  connectTimeoutMs?: number;
  /** Start-up connection retries after the first attempt (`sql_max_retries`); -1 retries forever. Default 10. */
  maxRetries?: number;
  /** First wait between start-up attempts (`sql_retry_interval`), doubled each time. Default 1 s. */
  retryIntervalMs?: number;
  /** Cap of the doubling wait between start-up attempts. Default 10 s. */
  maxRetryIntervalMs?: number;
  /** Times a transaction is re-run after a deadlock or lock-wait timeout. Default 5. */
  deadlockRetries?: number;
  /** First wait before re-running a deadlocked transaction, doubled each time. Default 20 ms. */
  deadlockRetryIntervalMs?: number;
  /** Run the migrations to the latest version once connected. Default false. */
  migrate?: boolean;
}

/** {@link DbConfig} with every default filled in. */
export type ResolvedDbConfig = Required<Omit<DbConfig, 'logger'>> & { logger: Logger | undefined };

/** A MariaDB/MySQL server and database. */
export interface MysqlTarget {
  dialect: 'mysql';
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  charset: string;
  /** "database test on 127.0.0.1:3306", for messages. */
  description: string;
}

/** A SQLite file, or `:memory:`. */
export interface SqliteTarget {
  dialect: 'sqlite';
  filename: string;
  description: string;
}

export type ConnectionTarget = MysqlTarget | SqliteTarget;

/** The SQL engine behind a Db. */
export type DbDialect = ConnectionTarget['dialect'];

const MYSQL_SCHEMES = new Set(['mysql:', 'mariadb:', 'mysql+pymysql:', 'mysql+mysqldb:', 'mysql+mysqlconnector:']);

/** Fills in the defaults of every option. */
export function resolveDbConfig(config: DbConfig): ResolvedDbConfig {
  return {
    url: config.url,
    logger: config.logger,
    sqlEcho: config.sqlEcho ?? false,
    slowQueryMs: config.slowQueryMs ?? 500,
    minPoolSize: config.minPoolSize ?? 1,
    maxPoolSize: config.maxPoolSize ?? 10,
    idleTimeoutMs: config.idleTimeoutMs ?? 3_600_000,
    acquireTimeoutMs: config.acquireTimeoutMs ?? 30_000,
    connectTimeoutMs: config.connectTimeoutMs ?? 10_000,
    maxRetries: config.maxRetries ?? 10,
    retryIntervalMs: config.retryIntervalMs ?? 1_000,
    maxRetryIntervalMs: config.maxRetryIntervalMs ?? 10_000,
    deadlockRetries: config.deadlockRetries ?? 5,
    deadlockRetryIntervalMs: config.deadlockRetryIntervalMs ?? 20,
    migrate: config.migrate ?? false,
  };
}

/** Parses a connection URL. Throws an Error (without the password) when it is not one we know. */
export function parseDatabaseUrl(url: string): ConnectionTarget {
  if (/^sqlite:/i.test(url)) return parseSqliteUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`Invalid database URL: ${redactUrlPasswords(url)}`);
  }
  if (!MYSQL_SCHEMES.has(parsed.protocol.toLowerCase())) {
    throw new Error(
      `Unsupported database URL scheme "${parsed.protocol}" in ${redactUrlPasswords(url)}: use mysql:// or sqlite://`,
    );
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = parsed.port ? Number(parsed.port) : 3306;
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database) throw new Error(`Database URL names no database: ${redactUrlPasswords(url)}`);
  return {
    dialect: 'mysql',
    host,
    port,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database,
    charset: parsed.searchParams.get('charset') ?? 'utf8mb4',
    description: `database ${database} on ${host}:${port}`,
  };
}

/**
 * SQLAlchemy's rules: what follows `sqlite:///` is the path, so `sqlite:///nova.db` is
 * relative and `sqlite:////var/lib/nova/nova.db` absolute; no path means in memory.
 */
function parseSqliteUrl(url: string): SqliteTarget {
  const rest = url.replace(/^sqlite:\/\//i, '').replace(/\?.*$/, '');
  const path = rest.startsWith('/') ? rest.slice(1) : rest;
  const filename = path === '' || path === ':memory:' ? ':memory:' : decodeURIComponent(path);
  const description = filename === ':memory:' ? 'in-memory SQLite database' : `SQLite database ${filename}`;
  return { dialect: 'sqlite', filename, description };
}
