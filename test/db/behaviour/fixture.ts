/** The Db shared by the tests of one engine, created once per test file. */
import { afterAll, beforeAll } from 'vitest';
import { createDb, type Db, type DbContext } from '../../../src/db/index.js';
import type { TestDatabase } from './databases.js';

/** What every behaviour suite gets: the migrated Db and its database. */
export interface DbFixture {
  readonly db: Db;
  readonly database: TestDatabase;
}

/**
 * Creates the database and a migrated Db before the file's tests, drops both after.
 * When that fails (MariaDB unreachable, ...), every test fails with the reason: none
 * is skipped.
 */
export function useDbFixture(openDatabase: () => Promise<TestDatabase>): DbFixture {
  let db: Db | undefined;
  let database: TestDatabase | undefined;
  let setupError: unknown = new Error('the test database was not created');
  beforeAll(async () => {
    try {
      database = await openDatabase();
      db = await createDb({ url: database.url, migrate: true, maxPoolSize: 10, maxRetries: 0 });
    } catch (error) {
      setupError = error;
    }
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });
  return {
    get db(): Db {
      if (!db) throw setupError;
      return db;
    },
    get database(): TestDatabase {
      if (!database) throw setupError;
      return database;
    },
  };
}

let counter = 0;

/** A non-admin context of a project, with a fresh request id. */
export function projectContext(projectId: string, fields: Partial<DbContext> = {}): DbContext {
  counter += 1;
  return { requestId: `req-${projectId}-${counter}`, projectId, userId: `user-${projectId}`, isAdmin: false, ...fields };
}

/** A unique name, so tests sharing a database do not see each other's rows. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}
