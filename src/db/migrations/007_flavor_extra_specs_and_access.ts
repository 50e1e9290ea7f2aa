/** Flavor extra specs (`instance_type_extra_specs`) and private-flavor access (`instance_type_projects`). */
import type { Knex } from 'knex';
import { addTimestampsAndSoftDelete, dropTables, type DbMigration } from './columns.js';

async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('instance_type_extra_specs', (table) => {
    table.increments('id');
    table.integer('instance_type_id').unsigned().notNullable().references('id').inTable('instance_types');
    table.string('key', 255).notNullable();
    table.string('value', 255).nullable();
    addTimestampsAndSoftDelete(table);
    table.unique(['instance_type_id', 'key', 'deleted'], { indexName: 'uniq_instance_type_extra_specs0id0key0deleted' });
  });
  await knex.schema.createTable('instance_type_projects', (table) => {
    table.increments('id');
    table.integer('instance_type_id').unsigned().notNullable().references('id').inTable('instance_types');
    table.string('project_id', 255).notNullable();
    addTimestampsAndSoftDelete(table);
    table.unique(['instance_type_id', 'project_id', 'deleted'], { indexName: 'uniq_instance_type_projects0id0project0deleted' });
  });
}

async function down(knex: Knex): Promise<void> {
  await dropTables(knex, ['instance_type_projects', 'instance_type_extra_specs']);
}

export const flavorExtraSpecsAndAccess: DbMigration = { name: '007_flavor_extra_specs_and_access', up, down };
