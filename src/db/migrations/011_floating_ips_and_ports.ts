/**
 * Floating IPs (a seeded `public` pool, as `nova-manage floating create` made them) and a
 * port id on each fixed IP, so an address handed to a server is an interface with an id.
 */
import type { Knex } from 'knex';
import { layoutIpv4Network } from '../ipv4.js';
import { addTimestampsAndSoftDelete, dropTables, type DbMigration } from './columns.js';
import { SEEDED_FLOATING_POOL } from './seed-data.js';

async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('floating_ips', (table) => {
    table.increments('id');
    table.string('address', 39).notNullable();
    table.integer('fixed_ip_id').unsigned().nullable().references('id').inTable('fixed_ips');
    table.string('project_id', 255).nullable();
    table.string('pool', 255).notNullable();
    table.string('host', 255).nullable();
    table.boolean('auto_assigned').notNullable().defaultTo(false);
    addTimestampsAndSoftDelete(table);
    table.unique(['address', 'deleted']);
    table.index(['pool', 'deleted', 'project_id']);
  });
  await knex.schema.alterTable('fixed_ips', (table) => {
    table.string('port_id', 36).nullable();
  });
  const now = new Date();
  const rows = layoutIpv4Network(SEEDED_FLOATING_POOL.cidr).assignable.map((address) => ({ address, pool: SEEDED_FLOATING_POOL.name, created_at: now }));
  await knex('floating_ips').insert(rows);
}

async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('fixed_ips', (table) => {
    table.dropColumn('port_id');
  });
  await dropTables(knex, ['floating_ips']);
}

export const floatingIpsAndPorts: DbMigration = { name: '011_floating_ips_and_ports', up, down };
