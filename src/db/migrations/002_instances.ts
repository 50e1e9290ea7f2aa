/** Instances and what hangs off them: metadata, faults, actions and their events. */
import type { Knex } from 'knex';
import { addInstanceUuidReference, addTimestampsAndSoftDelete, dropTables, type DbMigration } from './columns.js';

async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('instances', (table) => {
    table.increments('id');
    table.string('uuid', 36).notNullable().unique();
    table.string('display_name', 255).nullable();
    table.string('hostname', 255).nullable();
    table.string('project_id', 255).nullable();
    table.string('user_id', 255).nullable();
    table.string('image_ref', 255).nullable();
    table.integer('instance_type_id').nullable();
    table.string('key_name', 255).nullable();
    table.string('availability_zone', 255).nullable();
    table.string('host', 255).nullable();
    table.string('vm_state', 255).nullable();
    table.string('task_state', 255).nullable();
    table.integer('power_state').notNullable().defaultTo(0);
    table.integer('memory_mb').nullable();
    table.integer('vcpus').nullable();
    table.integer('root_gb').nullable();
    table.integer('ephemeral_gb').nullable();
    table.string('access_ip_v4', 39).nullable();
    table.string('access_ip_v6', 39).nullable();
    table.integer('progress').notNullable().defaultTo(0);
    table.datetime('launched_at', { precision: 3 }).nullable();
    table.datetime('terminated_at', { precision: 3 }).nullable();
    addTimestampsAndSoftDelete(table);
    table.index(['project_id', 'deleted']);
    table.index(['host', 'deleted']);
  });
  await knex.schema.createTable('instance_metadata', (table) => {
    table.increments('id');
    addInstanceUuidReference(table);
    table.string('key', 255).notNullable();
    table.string('value', 255).nullable();
    addTimestampsAndSoftDelete(table);
    table.unique(['instance_uuid', 'key', 'deleted']);
  });
  await knex.schema.createTable('instance_faults', (table) => {
    table.increments('id');
    addInstanceUuidReference(table);
    table.integer('code').notNullable();
    table.string('message', 255).nullable();
    table.text('details').nullable();
    table.string('host', 255).nullable();
    addTimestampsAndSoftDelete(table);
    table.index(['instance_uuid', 'deleted', 'created_at']);
  });
  await knex.schema.createTable('instance_actions', (table) => {
    table.increments('id');
    addInstanceUuidReference(table);
    table.string('action', 255).notNullable();
    table.string('request_id', 255).nullable();
    table.string('user_id', 255).nullable();
    table.string('project_id', 255).nullable();
    table.datetime('start_time', { precision: 3 }).nullable();
    table.datetime('finish_time', { precision: 3 }).nullable();
    table.string('message', 255).nullable();
    addTimestampsAndSoftDelete(table);
    table.index(['instance_uuid', 'request_id']);
  });
  await knex.schema.createTable('instance_actions_events', (table) => {
    table.increments('id');
    table.integer('action_id').unsigned().notNullable().references('id').inTable('instance_actions');
    table.string('event', 255).notNullable();
    table.datetime('start_time', { precision: 3 }).nullable();
    table.datetime('finish_time', { precision: 3 }).nullable();
    table.string('result', 255).nullable();
    table.text('traceback').nullable();
    table.string('host', 255).nullable();
    table.text('details').nullable();
    addTimestampsAndSoftDelete(table);
  });
}

async function down(knex: Knex): Promise<void> {
  await dropTables(knex, ['instance_actions_events', 'instance_actions', 'instance_faults', 'instance_metadata', 'instances']);
}

export const instances: DbMigration = { name: '002_instances', up, down };
