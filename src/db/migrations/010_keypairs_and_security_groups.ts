/** Key pairs (per user) and security groups with their rules and server associations (per project). */
import type { Knex } from 'knex';
import { addInstanceUuidReference, addTimestampsAndSoftDelete, dropTables, type DbMigration } from './columns.js';

async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('key_pairs', (table) => {
    table.increments('id');
    table.string('name', 255).notNullable();
    table.string('user_id', 255).notNullable();
    table.string('fingerprint', 255).notNullable();
    table.text('public_key').notNullable();
    table.string('type', 16).notNullable().defaultTo('ssh');
    addTimestampsAndSoftDelete(table);
    table.unique(['user_id', 'name', 'deleted']);
  });
  await knex.schema.createTable('security_groups', (table) => {
    table.increments('id');
    table.string('uuid', 36).notNullable().unique();
    table.string('name', 255).notNullable();
    table.string('description', 255).notNullable().defaultTo('');
    table.string('project_id', 255).notNullable();
    table.string('user_id', 255).nullable();
    addTimestampsAndSoftDelete(table);
    table.unique(['project_id', 'name', 'deleted']);
  });
  await knex.schema.createTable('security_group_rules', (table) => {
    table.increments('id');
    table.string('uuid', 36).notNullable().unique();
    table.integer('parent_group_id').unsigned().notNullable().references('id').inTable('security_groups');
    table.string('protocol', 16).nullable();
    table.integer('from_port').nullable();
    table.integer('to_port').nullable();
    table.string('cidr', 43).nullable();
    table.integer('group_id').unsigned().nullable().references('id').inTable('security_groups');
    addTimestampsAndSoftDelete(table);
    table.index(['parent_group_id', 'deleted']);
  });
  await knex.schema.createTable('security_group_instance_association', (table) => {
    table.increments('id');
    table.integer('security_group_id').unsigned().notNullable().references('id').inTable('security_groups');
    addInstanceUuidReference(table);
    addTimestampsAndSoftDelete(table);
    table.index(['instance_uuid', 'deleted']);
  });
}

async function down(knex: Knex): Promise<void> {
  await dropTables(knex, ['security_group_instance_association', 'security_group_rules', 'security_groups', 'key_pairs']);
}

export const keypairsAndSecurityGroups: DbMigration = { name: '010_keypairs_and_security_groups', up, down };
