/** Migrations run up and down on every engine. */
import { describe, expect, it } from 'vitest';
import { MIGRATED_TABLES, MIGRATIONS } from '../../../src/db/migrations/index.js';
import type { DbFixture } from './fixture.js';

export function migrationSuite(fixture: DbFixture): void {
  describe('migrations', () => {
    async function existingTables(): Promise<string[]> {
      const present = await Promise.all(MIGRATED_TABLES.map((table) => fixture.db.knex.schema.hasTable(table)));
      return MIGRATED_TABLES.filter((_, i) => present[i]);
    }

    it('create every table, drop them all on the way down, and create them again', async () => {
      const { db } = fixture;
      expect(await existingTables()).toEqual(MIGRATED_TABLES);
      expect(await db.migrations.currentVersion()).toBe('020');

      const reverted = await db.migrations.rollbackAll();
      expect(reverted).toEqual(MIGRATIONS.map((m) => m.name).reverse());
      expect(await existingTables()).toEqual([]);
      expect(await db.migrations.currentVersion()).toBe('none');

      const applied = await db.migrations.latest();
      expect(applied).toEqual(MIGRATIONS.map((m) => m.name));
      expect(await existingTables()).toEqual(MIGRATED_TABLES);
    });

    it('run nothing when the schema is already at the latest version', async () => {
      expect(await fixture.db.migrations.latest()).toEqual([]);
    });
  });
}
