/** os-services from 2.53 and os-hypervisors: UUIDs on services and compute nodes; services' forced_down. */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { DbMigration } from './columns.js';

async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('services', (table) => {
    table.string('uuid', 36).nullable().unique();
    table.boolean('forced_down').notNullable().defaultTo(false);
  });
  await knex.schema.alterTable('compute_nodes', (table) => {
    table.string('uuid', 36).nullable().unique();
  });
  for (const name of ['services', 'compute_nodes']) {
    const rows: Array<{ id: number }> = await knex(name).select('id').whereNull('uuid');
    for (const row of rows) await knex(name).where('id', row.id).update({ uuid: randomUUID() });
  }
}

async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('compute_nodes', (table) => table.dropColumn('uuid'));
  await knex.schema.alterTable('services', (table) => {
    table.dropColumn('forced_down');
    table.dropColumn('uuid');
  });
}

export const serviceUuidsAndForcedDown: DbMigration = { name: '008_service_uuids_and_forced_down', up, down };
