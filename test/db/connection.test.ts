/**
 * Connecting: URL parsing, start-up retries with backoff against a closed port, and
 * errors that name host and database but never the password.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createDb, DbConnectionError, parseDatabaseUrl } from '../../src/db/index.js';
import { databaseUrl } from '../support/services.js';
import { captureLogger } from './behaviour/capture-logger.js';

const PASSWORD = 'S3cr3t-db-pass';

/** A TCP port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('database URLs', () => {
  it('name a MariaDB/MySQL server, user, password and database, in nova.conf spellings too', () => {
    expect(parseDatabaseUrl('mysql://nova:p%40ss@db1:3307/nova?charset=utf8')).toEqual({
      dialect: 'mysql',
      host: 'db1',
      port: 3307,
      user: 'nova',
      password: 'p@ss',
      database: 'nova',
      charset: 'utf8',
      description: 'database nova on db1:3307',
    });
    expect(parseDatabaseUrl('mysql+pymysql://nova:x@10.0.0.5/nova')).toMatchObject({ host: '10.0.0.5', port: 3306 });
    expect(parseDatabaseUrl('mariadb://root@[::1]/test')).toMatchObject({ host: '::1', database: 'test' });
  });

  it('name a SQLite file the way SQLAlchemy does, or an in-memory database', () => {
    expect(parseDatabaseUrl('sqlite:////var/lib/nova/nova.sqlite')).toMatchObject({ filename: '/var/lib/nova/nova.sqlite' });
    expect(parseDatabaseUrl('sqlite:///nova.sqlite')).toMatchObject({ filename: 'nova.sqlite' });
    expect(parseDatabaseUrl('sqlite://:memory:')).toMatchObject({ filename: ':memory:' });
    expect(parseDatabaseUrl('sqlite://')).toMatchObject({ filename: ':memory:' });
  });

  it('are refused with a message that hides the password', () => {
    expect(() => parseDatabaseUrl(`postgres://nova:${PASSWORD}@db/nova`)).toThrow(/Unsupported database URL scheme/);
    expect(() => parseDatabaseUrl(`postgres://nova:${PASSWORD}@db/nova`)).not.toThrow(PASSWORD);
    expect(() => parseDatabaseUrl(`mysql://nova:${PASSWORD}@db1:3306`)).toThrow(/names no database/);
    expect(() => parseDatabaseUrl(`mysql://nova:${PASSWORD}@db1:3306`)).not.toThrow(PASSWORD);
  });
});

describe('connecting at start-up', () => {
  it('retries a closed port with backoff, then fails naming host and database but not the password', async () => {
    const port = await closedPort();
    const log = captureLogger();
    const started = Date.now();
    const error = await createDb({
      url: `mysql://nova:${PASSWORD}@127.0.0.1:${port}/nova_missing`,
      logger: log.logger,
      maxRetries: 2,
      retryIntervalMs: 20,
      connectTimeoutMs: 1_000,
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DbConnectionError);
    const message = (error as DbConnectionError).message;
    expect((error as DbConnectionError).code).toBe('DbConnectionError');
    expect(message).toContain(`127.0.0.1:${port}`);
    expect(message).toContain('nova_missing');
    expect(message).toContain('3 attempts');
    expect(message).not.toContain(PASSWORD);

    const retries = log.lines().filter((line) => line.level === 40 && 'retry_in_ms' in line);
    expect(retries.map((line) => line.retry_in_ms)).toEqual([20, 40]);
    expect(log.text()).not.toContain(PASSWORD);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('does not retry wrong credentials, and does not echo the password', async () => {
    const url = new URL(await databaseUrl());
    url.username = 'novarpc_no_such_user';
    url.password = PASSWORD;
    const error = await createDb({ url: url.toString(), maxRetries: 5, retryIntervalMs: 1_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DbConnectionError);
    expect((error as Error).message).toContain('after 1 attempt');
    expect((error as Error).message).toContain(`${url.hostname}:${url.port || 3306}`);
    expect((error as Error).message).not.toContain(PASSWORD);
  });

  it('opens an in-memory SQLite database and runs the migrations on request', async () => {
    const db = await createDb({ url: 'sqlite://:memory:', migrate: true });
    try {
      expect(db.dialect).toBe('sqlite');
      expect(db.description).toBe('in-memory SQLite database');
      expect(await db.migrations.currentVersion()).toBe('020');
    } finally {
      await db.close();
    }
  });
});
