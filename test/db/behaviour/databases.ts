/**
 * Throw-away databases for the db tests: a database of its own on the MariaDB server
 * (so test files never clash in the shared `test` database) or a temporary SQLite file.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { databaseUrl } from '../../support/services.js';

/** A database a test file owns, and how to get rid of it. */
export interface TestDatabase {
  engine: 'mariadb' | 'sqlite';
  url: string;
  drop(): Promise<void>;
}

/** Creates `novarpc_db_test_<random>` on the test MariaDB server. Rejects when MariaDB is not reachable. */
export async function createMariaDbDatabase(): Promise<TestDatabase> {
  const serverUrl = await databaseUrl();
  const name = `novarpc_db_test_${randomBytes(5).toString('hex')}`;
  await runAdminStatement(serverUrl, `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    engine: 'mariadb',
    url: url.toString(),
    drop: () => runAdminStatement(serverUrl, `DROP DATABASE IF EXISTS \`${name}\``),
  };
}

/** A SQLite file in a fresh temporary directory, addressed with an absolute `sqlite:////...` URL. */
export async function createSqliteDatabase(): Promise<TestDatabase> {
  const directory = await mkdtemp(join(tmpdir(), 'novarpc-db-test-'));
  return {
    engine: 'sqlite',
    url: `sqlite:///${join(directory, 'nova.sqlite')}`,
    drop: () => rm(directory, { recursive: true, force: true }),
  };
}

async function runAdminStatement(serverUrl: string, sql: string): Promise<void> {
  const connection = await mysql.createConnection({ uri: serverUrl });
  try {
    await connection.query(sql);
  } finally {
    await connection.end();
  }
}
