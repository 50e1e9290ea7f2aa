/** Flavor descriptions (Compute API 2.55). */
import type { Knex } from 'knex';
import type { DbMigration } from './columns.js';

async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instance_types', (table) => {
    table.text('description').nullable();
  });
}

async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instance_types', (table) => table.dropColumn('description'));
}

export const flavorDescription: DbMigration = { name: '009_flavor_description', up, down };
