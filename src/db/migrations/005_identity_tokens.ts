/** Tokens of the built-in Identity endpoint: one row per issued token, keyed by its SHA-256. */
import type { Knex } from 'knex';
import { dropTables, type DbMigration } from './columns.js';

async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('identity_tokens', (table) => {
    table.increments('id');
    // The SHA-256 of the token, hex: a database dump does not hand out live tokens.
    table.string('token_hash', 64).notNullable().unique();
    table.string('audit_id', 32).notNullable();
    table.string('user_name', 255).notNullable();
    table.string('project_name', 255).notNullable();
    table.boolean('is_admin').notNullable().defaultTo(false);
    table.string('methods', 255).notNullable();
    table.datetime('issued_at', { precision: 3 }).notNullable();
    table.datetime('expires_at', { precision: 3 }).notNullable();
    table.index(['expires_at']);
  });
}

async function down(knex: Knex): Promise<void> {
  await dropTables(knex, ['identity_tokens']);
}

export const identityTokens: DbMigration = { name: '005_identity_tokens', up, down };
