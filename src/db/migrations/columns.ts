/** Column helpers shared by the migrations. */
import type { Knex } from 'knex';

/** One migration, as the migration source hands it to knex. */
export interface DbMigration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * Nova's common columns: created_at, updated_at, deleted_at and `deleted`, which is 0 for
 * a live row and the row's id once soft-deleted.
 */
export function addTimestampsAndSoftDelete(table: Knex.CreateTableBuilder): void {
  table.datetime('created_at', { precision: 3 }).notNullable();
  table.datetime('updated_at', { precision: 3 }).nullable();
  table.datetime('deleted_at', { precision: 3 }).nullable();
  table.integer('deleted').notNullable().defaultTo(0);
}

/** A string column holding an instance uuid that references `instances.uuid`. */
export function addInstanceUuidReference(table: Knex.CreateTableBuilder, nullable = false): void {
  const column = table.string('instance_uuid', 36).references('uuid').inTable('instances');
  if (nullable) column.nullable();
  else column.notNullable();
}

/** Drops tables in the order given (children first). */
export async function dropTables(knex: Knex, tables: readonly string[]): Promise<void> {
  for (const table of tables) await knex.schema.dropTableIfExists(table);
}
