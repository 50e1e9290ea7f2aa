/** Networks and their fixed IPs, with the default private network seeded. */
import type { Knex } from 'knex';
import { layoutIpv4Network } from '../ipv4.js';
import { addInstanceUuidReference, addTimestampsAndSoftDelete, dropTables, type DbMigration } from './columns.js';
import { SEEDED_NETWORK } from './seed-data.js';

async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('networks', (table) => {
    table.increments('id');
    table.string('uuid', 36).notNullable().unique();
    table.string('label', 255).notNullable();
    table.string('cidr', 43).notNullable();
    table.string('netmask', 39).notNullable();
    table.string('gateway', 39).notNullable();
    table.string('broadcast', 39).notNullable();
    table.string('bridge', 255).nullable();
    table.integer('vlan').nullable();
    table.string('project_id', 255).nullable();
    table.string('host', 255).nullable();
    addTimestampsAndSoftDelete(table);
  });
  await knex.schema.createTable('fixed_ips', (table) => {
    table.increments('id');
    table.string('address', 39).notNullable();
    table.integer('network_id').unsigned().notNullable().references('id').inTable('networks');
    addInstanceUuidReference(table, true);
    table.boolean('allocated').notNullable().defaultTo(false);
    table.boolean('leased').notNullable().defaultTo(false);
    table.boolean('reserved').notNullable().defaultTo(false);
    table.string('host', 255).nullable();
    addTimestampsAndSoftDelete(table);
    table.unique(['address', 'deleted']);
    table.index(['network_id', 'deleted', 'instance_uuid']);
  });
  await seedPrivateNetwork(knex);
}

async function seedPrivateNetwork(knex: Knex): Promise<void> {
  const now = new Date();
  const { assignable, ...layout } = layoutIpv4Network(SEEDED_NETWORK.cidr);
  await knex('networks').insert({ ...SEEDED_NETWORK, ...layout, created_at: now });
  const rows = assignable.map((address) => ({ address, network_id: SEEDED_NETWORK.id, created_at: now }));
  await knex('fixed_ips').insert(rows);
}

async function down(knex: Knex): Promise<void> {
  await dropTables(knex, ['fixed_ips', 'networks']);
}

export const networks: DbMigration = { name: '004_networks', up, down };
