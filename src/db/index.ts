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
 * The resources' functions are reached through the {@link Db} (`db.instances.create`);
 * this module exports the types of their rows and arguments, not the functions.
 *
 * @example
 * const db = await createDb({ url: 'sqlite://:memory:', migrate: true, sqlEcho: true, logger });
 * const ctx = { requestId: 'req-1', projectId: 'demo', isAdmin: false };
 * const instance = await db.instances.create(ctx, { display_name: 'vm1', instance_type_id: 1 });
 * await db.instances.update(ctx, instance.uuid, { task_state: 'spawning' }, { expectedTaskState: 'scheduling' });
 * await db.close();
 *
 * @packageDocumentation
 */
export { createDb, type Db, type DbMigrations, type DbResources } from './create-db.js';
export { parseDatabaseUrl, type ConnectionTarget, type DbConfig, type DbDialect, type MysqlTarget, type SqliteTarget } from './config.js';
export { adminContext, withReadDeleted, type DbContext, type ReadDeleted } from './context.js';
export * from './errors.js';
export { SEEDED_FLAVORS, SEEDED_FLOATING_POOL, SEEDED_IMAGES, SEEDED_NETWORK } from './migrations/seed-data.js';
export type { Metadata } from './key-value.js';
export { type InstanceRow, type InstanceChanges, type NewInstance, type ExpectedTaskState, type InstanceUpdateOptions, type InstanceFilters } from './instances.js';
export { type MetadataUpdateOptions } from './instance-metadata.js';
export { type InstanceFaultRow, type NewInstanceFault } from './instance-faults.js';
export { type InstanceActionRow, type InstanceActionEventRow, type EventOutcome } from './instance-actions.js';
export { type FlavorRow, type FlavorFilters, type NewFlavor } from './flavors.js';
export { type ImageRow, type NewImage, type ImageFilters } from './images.js';
export { isServiceUp, DEFAULT_SERVICE_DOWN_TIME_SECONDS, type ServiceRow, type NewService, type ServiceChanges, type ServiceFilters } from './services.js';
export { type ComputeNodeRow, type ComputeNodeReport, type ResourceAmounts } from './compute-nodes.js';
export { type NetworkRow, type NewNetwork } from './networks.js';
export { type FixedIpRow, type FixedIpRequest } from './fixed-ips.js';
export { type QuotaLimits, type ProjectUsage } from './quotas.js';
export { type IdentityTokenRow, type NewIdentityToken } from './identity-tokens.js';
export { type KeyPairRow, type NewKeyPair, type KeyPairPage } from './key-pairs.js';
export { DEFAULT_SECURITY_GROUP, type SecurityGroupRow, type SecurityGroupRuleRow, type NewSecurityGroupRule } from './security-groups.js';
export { type FloatingIpRow } from './floating-ips.js';
export { MAX_TAGS_PER_INSTANCE } from './instance-tags.js';
export { type HaSegmentRow, type HaHostRow, type NewHaSegment, type HaSegmentChanges, type NewHaHost, type HaHostChanges, type HaSegmentFilters, type HaHostFilters } from './ha-segments.js';
export { type HaNotificationStatus, type HaNotificationRow, type NewHaNotification, type HaNotificationFilters } from './ha-notifications.js';
export { type HaStepState, type HaProgressDetail, type HaStepRow, type HaVmoveStatus, type HaVmoveRow } from './ha-workflows.js';
