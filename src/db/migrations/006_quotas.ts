/** Per-project quota limits (Nova's `quotas`); a project without a row has the defaults. */
import type { Knex } from 'knex';
import { addTimestampsAndSoftDelete, dropTables, type DbMigration } from './columns.js';

async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('quotas', (table) => {
    table.increments('id');
    table.string('project_id', 255).notNullable();
    table.string('resource', 255).notNullable();
    table.integer('hard_limit').notNullable();
    addTimestampsAndSoftDelete(table);
    table.unique(['project_id', 'resource', 'deleted']);
  });
}

async function down(knex: Knex): Promise<void> {
  await dropTables(knex, ['quotas']);
}

export const quotas: DbMigration = { name: '006_quotas', up, down };
