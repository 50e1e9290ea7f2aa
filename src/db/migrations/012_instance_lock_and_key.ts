/** Server columns of later microversions: lock state and reason, description, and the boot key's public part. */
import type { Knex } from 'knex';
import type { DbMigration } from './columns.js';

const COLUMNS = ['locked', 'locked_by', 'locked_reason', 'display_description', 'key_data'] as const;

async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instances', (table) => {
    table.boolean('locked').notNullable().defaultTo(false);
    table.string('locked_by', 16).nullable();
    table.string('locked_reason', 255).nullable();
    table.string('display_description', 255).nullable();
    table.text('key_data').nullable();
  });
}

async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instances', (table) => {
    for (const column of COLUMNS) table.dropColumn(column);
  });
}

export const instanceLockAndKey: DbMigration = { name: '012_instance_lock_and_key', up, down };
