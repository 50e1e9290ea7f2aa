/**
 * Instance HA (Masakari's schema, reduced): failover segments, their hosts, notifications
 * with the engine's claim (engine, lease_until), the failure claims that let exactly one
 * notification per host failure start a workflow, workflow steps and vmoves.
 */
import type { Knex } from 'knex';
import { dropTables, type DbMigration } from './columns.js';

function timestamps(table: Knex.CreateTableBuilder): void {
  table.datetime('created_at', { precision: 3 }).notNullable();
  table.datetime('updated_at', { precision: 3 }).nullable();
}

async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ha_failover_segments', (table) => {
    table.increments('id');
    table.string('uuid', 36).notNullable().unique('ha_segments_uuid_unique');
    table.string('name', 255).notNullable().unique('ha_segments_name_unique');
    table.string('service_type', 255).notNullable();
    table.text('description').nullable();
    table.string('recovery_method', 32).notNullable();
    table.boolean('enabled').notNullable().defaultTo(true);
    timestamps(table);
  });
  await knex.schema.createTable('ha_hosts', (table) => {
    table.increments('id');
    table.string('uuid', 36).notNullable().unique('ha_hosts_uuid_unique');
    table.string('name', 255).notNullable().unique('ha_hosts_name_unique');
    table.string('type', 255).nullable();
    table.text('control_attributes').nullable();
    table.boolean('reserved').notNullable().defaultTo(false);
    table.boolean('on_maintenance').notNullable().defaultTo(false);
    table.string('failover_segment_id', 36).notNullable().index('ha_hosts_segment_index');
    timestamps(table);
  });
  await knex.schema.createTable('ha_notifications', (table) => {
    table.increments('id');
    table.string('notification_uuid', 36).notNullable().unique('ha_notifications_uuid_unique');
    table.string('type', 32).notNullable();
    table.string('hostname', 255).notNullable();
    table.datetime('generated_time', { precision: 3 }).notNullable();
    table.text('payload').notNullable();
    table.string('source_host_uuid', 36).nullable();
    table.string('failover_segment_uuid', 36).nullable();
    table.string('status', 16).notNullable().index('ha_notifications_status_index');
    table.text('message').nullable();
    // The engine running the workflow and until when its claim holds (renewed while it runs).
    table.string('engine', 255).nullable();
    table.datetime('lease_until', { precision: 3 }).nullable();
    table.integer('attempts').notNullable().defaultTo(0);
    timestamps(table);
  });
  await knex.schema.createTable('ha_failure_claims', (table) => {
    table.increments('id');
    table.string('hostname', 255).notNullable();
    // What identifies one failure of the host: its compute service's last heartbeat.
    table.string('epoch', 64).notNullable();
    table.string('notification_uuid', 36).notNullable();
    table.datetime('created_at', { precision: 3 }).notNullable();
    table.unique(['hostname', 'epoch'], { indexName: 'ha_failure_claims_host_epoch_unique' });
  });
  await knex.schema.createTable('ha_workflow_steps', (table) => {
    table.increments('id');
    table.string('notification_uuid', 36).notNullable();
    table.string('name', 64).notNullable();
    table.integer('position').notNullable();
    table.string('state', 16).notNullable();
    table.float('progress').notNullable().defaultTo(0);
    table.text('progress_details').notNullable();
    timestamps(table);
    table.unique(['notification_uuid', 'name'], { indexName: 'ha_workflow_steps_unique' });
  });
  await knex.schema.createTable('ha_vmoves', (table) => {
    table.increments('id');
    table.string('uuid', 36).notNullable().unique('ha_vmoves_uuid_unique');
    table.string('notification_uuid', 36).notNullable();
    table.string('instance_uuid', 36).notNullable();
    table.string('instance_name', 255).nullable();
    table.string('source_host', 255).notNullable();
    table.string('dest_host', 255).nullable();
    table.datetime('start_time', { precision: 3 }).nullable();
    table.datetime('end_time', { precision: 3 }).nullable();
    table.string('status', 16).notNullable();
    table.string('type', 32).notNullable();
    table.text('message').nullable();
    // What the server was before the move, so a resumed workflow restores it.
    table.string('prior_vm_state', 32).nullable();
    table.boolean('prior_locked').nullable();
    timestamps(table);
    table.unique(['notification_uuid', 'instance_uuid'], { indexName: 'ha_vmoves_instance_unique' });
  });
}

async function down(knex: Knex): Promise<void> {
  await dropTables(knex, ['ha_vmoves', 'ha_workflow_steps', 'ha_failure_claims', 'ha_notifications', 'ha_hosts', 'ha_failover_segments']);
}

export const instanceHa: DbMigration = { name: '020_instance_ha', up, down };
