/** Server tags (microversion 2.26): plain strings per instance, as Nova's `tags` table. */
import type { Knex } from 'knex';
import { addInstanceUuidReference, dropTables, type DbMigration } from './columns.js';

async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('tags', (table) => {
    addInstanceUuidReference(table);
    table.string('tag', 80).notNullable();
    table.primary(['instance_uuid', 'tag']);
  });
}

async function down(knex: Knex): Promise<void> {
  await dropTables(knex, ['tags']);
}

export const instanceTags: DbMigration = { name: '013_instance_tags', up, down };
