/**
 * novarpc's db layer (`novarpc/db`): knex over MariaDB/MySQL (mysql2) or SQLite
 * (better-sqlite3), Nova's schema, and one module per resource.
 *
 * Conventions:
 * - every function takes a {@link DbContext} first, then plain arguments, and returns
 *   plain rows;
 * - rows, column values and filters use Nova's snake_case column names; options that
 *   steer a call (`expectedTaskState`, `replace`) are camelCase;
 * - soft-deleted rows (deleted = id) are hidden unless the context's readDeleted says
 *   otherwise, and non-admin contexts only see their project's rows;
 * - failures are typed errors with a stable `code` (see `errors.ts`).
 *
 * @example
 * const db = await createDb({ url: 'sqlite://:memory:', migrate: true, sqlEcho: true, logger });
 * const ctx = { requestId: 'req-1', projectId: 'demo', isAdmin: false };
 * const instance = await db.instances.create(ctx, { display_name: 'vm1', instance_type_id: 1 });
 * await db.instances.update(ctx, instance.uuid, { task_state: 'spawning' }, { expectedTaskState: 'scheduling' });
 * await db.close();
 */
export { createDb, type Db, type DbMigrations, type DbResources } from './create-db.js';
export { parseDatabaseUrl, type ConnectionTarget, type DbConfig, type DbDialect } from './config.js';
export { adminContext, withReadDeleted, type DbContext, type ReadDeleted } from './context.js';
export * from './errors.js';
export type { DbSession, Bound } from './session.js';
export { modelQuery, type ScopeOptions } from './model-query.js';
export { redactBindings, isSecretName, REDACTED } from './sql-redaction.js';
export { layoutIpv4Network, type Ipv4Layout } from './ipv4.js';
export { MIGRATIONS, MIGRATED_TABLES, createMigrationSource } from './migrations/index.js';
export { SEEDED_FLAVORS, SEEDED_FLOATING_POOL, SEEDED_IMAGES, SEEDED_NETWORK } from './migrations/seed-data.js';
export type { Metadata } from './key-value.js';
export * from './instances.js';
export * from './instance-metadata.js';
export * from './instance-faults.js';
export * from './instance-actions.js';
export * from './flavors.js';
export * from './images.js';
export * from './services.js';
export * from './compute-nodes.js';
export * from './networks.js';
export * from './fixed-ips.js';
export * from './flavor-extras.js';
export * from './quotas.js';
export * from './identity-tokens.js';
export * from './key-pairs.js';
export * from './security-groups.js';
export * from './floating-ips.js';
export * from './instance-tags.js';
export * from './ha-segments.js';
export * from './ha-notifications.js';
export * from './ha-workflows.js';
