/**
 * The schema migrations, as a knex migration source. They are imported modules rather
 * than files found on disk, so they run the same from `src` under tsx/vitest and from
 * the compiled `dist`.
 */
import type { Knex } from 'knex';
import type { DbMigration } from './columns.js';
import { flavorsAndImages } from './001_flavors_and_images.js';
import { instances } from './002_instances.js';
import { servicesAndComputeNodes } from './003_services_and_compute_nodes.js';
import { networks } from './004_networks.js';
import { identityTokens } from './005_identity_tokens.js';
import { quotas } from './006_quotas.js';
import { flavorExtraSpecsAndAccess } from './007_flavor_extra_specs_and_access.js';
import { serviceUuidsAndForcedDown } from './008_service_uuids_and_forced_down.js';
import { flavorDescription } from './009_flavor_description.js';
import { keypairsAndSecurityGroups } from './010_keypairs_and_security_groups.js';
import { floatingIpsAndPorts } from './011_floating_ips_and_ports.js';
import { instanceLockAndKey } from './012_instance_lock_and_key.js';
import { instanceTags } from './013_instance_tags.js';
import { instanceHa } from './020_instance_ha.js';

/** Every migration, oldest first. */
export const MIGRATIONS: readonly DbMigration[] = [
  flavorsAndImages,
  instances,
  servicesAndComputeNodes,
  networks,
  identityTokens,
  quotas,
  flavorExtraSpecsAndAccess,
  serviceUuidsAndForcedDown,
  flavorDescription,
  keypairsAndSecurityGroups,
  floatingIpsAndPorts,
  instanceLockAndKey,
  instanceTags,
  instanceHa,
];

/** The tables the migrations create. */
export const MIGRATED_TABLES: readonly string[] = [
  'instance_types',
  'images',
  'image_metadata',
  'instances',
  'instance_metadata',
  'instance_faults',
  'instance_actions',
  'instance_actions_events',
  'services',
  'compute_nodes',
  'networks',
  'fixed_ips',
  'identity_tokens',
  'quotas',
  'instance_type_extra_specs',
  'instance_type_projects',
  'key_pairs',
  'security_groups',
  'security_group_rules',
  'security_group_instance_association',
  'floating_ips',
  'tags',
  'ha_failover_segments',
  'ha_hosts',
  'ha_notifications',
  'ha_failure_claims',
  'ha_workflow_steps',
  'ha_vmoves',
];

/** A knex migration source serving {@link MIGRATIONS}. */
export function createMigrationSource(): Knex.MigrationSource<DbMigration> {
  return {
    getMigrations: async () => [...MIGRATIONS],
    getMigrationName: (migration) => migration.name,
    getMigration: async (migration) => ({ up: migration.up, down: migration.down }),
  };
}
