/** Flavors (instance_types) and the image catalogue, seeded. */
import type { Knex } from 'knex';
import { addTimestampsAndSoftDelete, dropTables, type DbMigration } from './columns.js';
import { SEEDED_FLAVORS, SEEDED_IMAGES } from './seed-data.js';

async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('instance_types', (table) => {
    table.increments('id');
    table.string('name', 255).notNullable();
    table.string('flavorid', 255).notNullable();
    table.integer('memory_mb').notNullable();
    table.integer('vcpus').notNullable();
    table.integer('root_gb').notNullable();
    table.integer('ephemeral_gb').notNullable().defaultTo(0);
    table.integer('swap').notNullable().defaultTo(0);
    table.float('rxtx_factor').notNullable().defaultTo(1);
    table.boolean('is_public').notNullable().defaultTo(true);
    table.boolean('disabled').notNullable().defaultTo(false);
    addTimestampsAndSoftDelete(table);
    table.unique(['name', 'deleted']);
    table.unique(['flavorid', 'deleted']);
  });
  await knex.schema.createTable('images', (table) => {
    table.increments('id');
    table.string('uuid', 36).notNullable().unique();
    table.string('name', 255).notNullable();
    table.string('status', 30).notNullable().defaultTo('active');
    table.string('disk_format', 30).nullable();
    table.string('container_format', 30).nullable();
    table.bigInteger('size').nullable();
    table.integer('min_disk').notNullable().defaultTo(0);
    table.integer('min_ram').notNullable().defaultTo(0);
    table.boolean('is_public').notNullable().defaultTo(true);
    table.string('owner', 255).nullable();
    addTimestampsAndSoftDelete(table);
  });
  await knex.schema.createTable('image_metadata', (table) => {
    table.increments('id');
    table.integer('image_id').unsigned().notNullable().references('id').inTable('images');
    table.string('key', 255).notNullable();
    table.string('value', 255).nullable();
    addTimestampsAndSoftDelete(table);
    table.unique(['image_id', 'key', 'deleted']);
  });
  await seed(knex);
}

async function seed(knex: Knex): Promise<void> {
  const now = new Date();
  await knex('instance_types').insert(SEEDED_FLAVORS.map((flavor) => ({ ...flavor, created_at: now })));
  await knex('images').insert(SEEDED_IMAGES.map(({ metadata: _metadata, ...image }) => ({ ...image, created_at: now })));
  const metadataRows = SEEDED_IMAGES.flatMap((image) =>
    Object.entries(image.metadata).map(([key, value]) => ({ image_id: image.id, key, value, created_at: now })),
  );
  await knex('image_metadata').insert(metadataRows);
}

async function down(knex: Knex): Promise<void> {
  await dropTables(knex, ['image_metadata', 'images', 'instance_types']);
}

export const flavorsAndImages: DbMigration = { name: '001_flavors_and_images', up, down };
