/** SQL echo and slow-statement logging: statement, bindings without secrets, duration, request_id. */
import { afterEach, describe, expect, it } from 'vitest';
import { createDb, type Db, type DbConfig } from '../../../src/db/index.js';
import { captureLogger, type CapturedLog } from './capture-logger.js';
import { projectContext, uniqueName, type DbFixture } from './fixture.js';

const ADMIN_PASS = 'Adm1n-Pa55-never-logged';
const PASSWORD = 'hunter2-never-logged';

export function loggingSuite(fixture: DbFixture): void {
  describe('SQL logging', () => {
    const opened: Db[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((db) => db.close()));
    });

    async function loggedDb(options: Omit<DbConfig, 'url' | 'logger'>): Promise<{ db: Db; log: CapturedLog }> {
      const log = captureLogger();
      const db = await createDb({ url: fixture.database.url, logger: log.logger, ...options });
      opened.push(db);
      return { db, log };
    }

    it('with sql echo, logs every statement with its bindings, duration, row count and request_id', async () => {
      const { db, log } = await loggedDb({ sqlEcho: true });
      const ctx = projectContext(uniqueName('p'), { requestId: 'req-echo-1' });
      const instance = await db.instances.create(ctx, { display_name: 'echoed' });
      await db.instances.update({ ...ctx, requestId: 'req-echo-2' }, instance.uuid, { vm_state: 'active' });

      const statements = log.lines().filter((line) => line.msg === 'sql statement');
      const insert = statements.find((line) => String(line.sql).startsWith('insert into `instances`'));
      expect(insert).toMatchObject({ level: 30, request_id: 'req-echo-1', rows: 1, component: 'db' });
      expect(insert!.duration_ms).toEqual(expect.any(Number));
      expect(insert!.bindings).toEqual(expect.arrayContaining(['echoed', instance.uuid]));

      const update = statements.find((line) => String(line.sql).startsWith('update `instances`'));
      expect(update).toMatchObject({ request_id: 'req-echo-2', rows: 1 });
      expect(update!.sql).toContain('`vm_state` = ?');
      const select = statements.find((line) => String(line.sql).startsWith('select') && line.request_id === 'req-echo-2');
      expect(select).toMatchObject({ rows: 1 });
      // Transaction control is echoed too, under the request that opened the transaction.
      await db.instanceMetadata.update({ ...ctx, requestId: 'req-echo-3' }, instance.uuid, { role: 'web' });
      const inTransaction = log.lines().filter((line) => line.request_id === 'req-echo-3').map((line) => String(line.sql));
      expect(inTransaction[0]).toMatch(/^BEGIN/i);
      expect(inTransaction.at(-1)).toMatch(/^COMMIT/i);
      expect(inTransaction.some((sql) => sql.startsWith('insert into `instance_metadata`'))).toBe(true);
    });

    it('never logs a password or admin_pass bound in a statement', async () => {
      const { db, log } = await loggedDb({ sqlEcho: true });
      const ctx = projectContext(uniqueName('p'), { requestId: 'req-secret' });
      const instance = await db.instances.create(ctx, { display_name: 'with-secrets' });
      await db.instanceMetadata.update(ctx, instance.uuid, { admin_pass: ADMIN_PASS, password_0: PASSWORD, role: 'web' });
      await db.instanceMetadata.update(ctx, instance.uuid, { admin_pass: `${ADMIN_PASS}-2` });
      await db.knex.raw('select ? as admin_pass, ? as password, ? as visible', [ADMIN_PASS, PASSWORD, 'plain-value']);

      const text = log.text();
      expect(text).not.toContain(ADMIN_PASS);
      expect(text).not.toContain(PASSWORD);
      expect(text).toContain('[redacted]');
      expect(text).toContain('plain-value');
      expect(text).toContain('"role"');
      expect(await db.instanceMetadata.get(ctx, instance.uuid)).toMatchObject({ admin_pass: `${ADMIN_PASS}-2` });
    });

    it('without echo, logs only statements slower than the threshold, at warn', async () => {
      const quiet = await loggedDb({ sqlEcho: false });
      const ctx = projectContext(uniqueName('p'), { requestId: 'req-quiet' });
      await quiet.db.flavors.list(ctx);
      expect(quiet.log.lines().filter((line) => 'sql' in line)).toEqual([]);

      const slow = await loggedDb({ sqlEcho: false, slowQueryMs: 0 });
      const slowCtx = projectContext(uniqueName('p'), { requestId: 'req-slow' });
      await slow.db.flavors.getByName(slowCtx, 'm1.small');
      const warned = slow.log.lines().filter((line) => line.msg === 'slow sql statement');
      const flavorLookup = warned.find((line) => String(line.sql).includes('instance_types'));
      expect(flavorLookup).toMatchObject({ level: 40, request_id: 'req-slow', slow_query_ms: 0, rows: 1 });
      expect(flavorLookup!.duration_ms).toEqual(expect.any(Number));
      expect(slow.log.lines().filter((line) => line.level === 30 && 'sql' in line)).toEqual([]);
    });

    it('logs a failed statement with its error code, and keeps bindings out of the error message', async () => {
      const { db, log } = await loggedDb({ sqlEcho: true });
      const ctx = projectContext(uniqueName('p'), { requestId: 'req-fails' });
      const instance = await db.instances.create(ctx, { display_name: 'dup' });
      const error = await db.instances.create(ctx, { uuid: instance.uuid, display_name: 'binding-not-in-message' }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'DuplicateEntry' });
      expect((error as Error).message).not.toContain('binding-not-in-message');
      const failed = log.lines().find((line) => line.msg === 'sql statement failed');
      expect(failed).toMatchObject({ request_id: 'req-fails', error: { code: expect.any(String) } });
      expect(failed!.duration_ms).toEqual(expect.any(Number));
    });
  });
}
