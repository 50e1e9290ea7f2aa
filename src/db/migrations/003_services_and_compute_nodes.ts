/** Services (the heartbeat table) and compute nodes (per-host capacity). */
import type { Knex } from 'knex';
import { addTimestampsAndSoftDelete, dropTables, type DbMigration } from './columns.js';

async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('services', (table) => {
    table.increments('id');
    table.string('host', 255).notNullable();
    table.string('binary', 255).notNullable();
    table.string('topic', 255).notNullable();
    table.integer('report_count').notNullable().defaultTo(0);
    table.boolean('disabled').notNullable().defaultTo(false);
    table.string('disabled_reason', 255).nullable();
    table.string('availability_zone', 255).notNullable().defaultTo('nova');
    table.datetime('last_seen_up', { precision: 3 }).nullable();
    addTimestampsAndSoftDelete(table);
    table.unique(['host', 'topic', 'deleted']);
    table.unique(['host', 'binary', 'deleted']);
  });
  await knex.schema.createTable('compute_nodes', (table) => {
    table.increments('id');
    table.string('host', 255).notNullable();
    table.string('hypervisor_hostname', 255).nullable();
    table.integer('service_id').nullable();
    table.integer('vcpus').notNullable();
    table.integer('memory_mb').notNullable();
    table.integer('local_gb').notNullable();
    table.integer('vcpus_used').notNullable().defaultTo(0);
    table.integer('memory_mb_used').notNullable().defaultTo(0);
    table.integer('local_gb_used').notNullable().defaultTo(0);
    table.integer('running_vms').notNullable().defaultTo(0);
    table.string('hypervisor_type', 255).nullable();
    table.integer('hypervisor_version').nullable();
    table.text('cpu_info').nullable();
    addTimestampsAndSoftDelete(table);
    table.unique(['host', 'deleted']);
  });
}

async function down(knex: Knex): Promise<void> {
  await dropTables(knex, ['compute_nodes', 'services']);
}

export const servicesAndComputeNodes: DbMigration = { name: '003_services_and_compute_nodes', up, down };
