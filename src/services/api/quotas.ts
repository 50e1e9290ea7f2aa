/**
 * Quotas as Nova's API shows and enforces them: the default limits, the resources each
 * microversion lists (network ones only up to 2.35, injected files up to 2.56), a
 * project's effective limits and usage, and the boot-time check with Nova's 403.
 */
import type { Db, FlavorRow, QuotaLimits } from '../../db/index.js';
import type { RequestContext } from '../../rpc/index.js';
import type { QuotaConfig } from '../config.js';
import { ApiFault } from './faults.js';
import { isAtLeast, isAtMost, type Microversion } from './microversion.js';

/** Nova's default quota limits (-1 = unlimited). */
export const NOVA_DEFAULT_QUOTAS: Readonly<QuotaLimits> = {
  instances: 10,
  cores: 20,
  ram: 51200,
  metadata_items: 128,
  key_pairs: 100,
  server_groups: 10,
  server_group_members: 10,
  injected_files: 5,
  injected_file_content_bytes: 10240,
  injected_file_path_bytes: 255,
  floating_ips: 10,
  fixed_ips: -1,
  security_groups: 10,
  security_group_rules: 20,
};

/** The defaults of this cloud: Nova's, with instances, cores and RAM from `[quota]`. */
export function defaultQuotas(config: QuotaConfig): QuotaLimits {
  return { ...NOVA_DEFAULT_QUOTAS, instances: config.instances, cores: config.cores, ram: config.ram };
}

const NETWORK_RESOURCES = ['floating_ips', 'fixed_ips', 'security_groups', 'security_group_rules'];
const FILE_RESOURCES = ['injected_files', 'injected_file_content_bytes', 'injected_file_path_bytes'];

/** The quota resources a microversion shows (and accepts in updates). */
export function quotaResources(version: Microversion): string[] {
  return Object.keys(NOVA_DEFAULT_QUOTAS).filter(
    (resource) => (!NETWORK_RESOURCES.includes(resource) || isAtMost(version, '2.35')) && (!FILE_RESOURCES.includes(resource) || isAtMost(version, '2.56')),
  );
}

/** A project's limits: its own rows over the defaults. */
export async function effectiveQuotas(db: Db, ctx: RequestContext, projectId: string, defaults: QuotaLimits): Promise<QuotaLimits> {
  return { ...defaults, ...(await db.quotas.getForProject(ctx, projectId)) };
}

/** Only the resources `version` shows. */
export function pickResources(limits: QuotaLimits, version: Microversion): QuotaLimits {
  return Object.fromEntries(quotaResources(version).map((resource) => [resource, limits[resource] ?? -1]));
}

/**
 * How many of `maxCount` servers of `flavor` the project may still boot; 403 with Nova's
 * message when not even `minCount` fit.
 */
export async function checkBootQuota(
  db: Db,
  ctx: RequestContext,
  flavor: FlavorRow,
  counts: { min: number; max: number },
  defaults: QuotaLimits,
): Promise<number> {
  const projectId = ctx.projectId ?? '';
  const minCount = counts.min;
  const limits = await effectiveQuotas(db, ctx, projectId, defaults);
  // Unlimited servers, cores and RAM need no usage: the count over the project's servers is skipped.
  if ((['instances', 'cores', 'ram'] as const).every((resource) => (limits[resource] ?? -1) < 0)) return counts.max;
  const usage = await db.quotas.usage(ctx, projectId);
  const per = { instances: 1, cores: flavor.vcpus, ram: flavor.memory_mb };
  let allowed = counts.max;
  for (const resource of ['instances', 'cores', 'ram'] as const) {
    const limit = limits[resource] ?? -1;
    if (limit < 0 || per[resource] === 0) continue;
    allowed = Math.min(allowed, Math.floor(Math.max(0, limit - usage[resource]) / per[resource]));
  }
  if (allowed >= minCount) return allowed;
  const over = (['instances', 'cores', 'ram'] as const).filter((resource) => {
    const limit = limits[resource] ?? -1;
    return limit >= 0 && usage[resource] + per[resource] * minCount > limit;
  });
  const first = over[0] ?? 'instances';
  throw new ApiFault(
    403,
    `Quota exceeded for ${over.join(', ')}: Requested ${per[first] * minCount}, but already used ${usage[first]} of ${limits[first]} ${first}`,
  );
}

/** A project's usage by quota resource: servers, cores, RAM, and (up to 2.35) security groups and floating IPs. */
export async function projectUsage(db: Db, ctx: RequestContext, projectId: string, version: Microversion): Promise<QuotaLimits> {
  const usage: QuotaLimits = { ...(await db.quotas.usage(ctx, projectId)) };
  if (isAtMost(version, '2.35')) {
    const [groups, floating] = await Promise.all([db.securityGroups.list(ctx, projectId), db.floatingIps.list(ctx, projectId)]);
    usage.security_groups = groups.length;
    usage.floating_ips = floating.length;
  }
  return usage;
}

/** The absolute limits of GET /limits, for a project's limits and usage ({@link projectUsage}). */
export function absoluteLimits(limits: QuotaLimits, usage: QuotaLimits, version: Microversion): Record<string, number> {
  const view: Record<string, number> = {
    maxServerMeta: limits.metadata_items ?? -1,
    maxTotalKeypairs: limits.key_pairs ?? -1,
    maxServerGroups: limits.server_groups ?? -1,
    maxServerGroupMembers: limits.server_group_members ?? -1,
    maxTotalCores: limits.cores ?? -1,
    maxTotalInstances: limits.instances ?? -1,
    maxTotalRAMSize: limits.ram ?? -1,
    totalCoresUsed: usage.cores ?? 0,
    totalInstancesUsed: usage.instances ?? 0,
    totalRAMUsed: usage.ram ?? 0,
    totalServerGroupsUsed: 0,
  };
  if (!isAtLeast(version, '2.39')) view.maxImageMeta = limits.metadata_items ?? -1;
  if (!isAtLeast(version, '2.57')) {
    view.maxPersonality = limits.injected_files ?? -1;
    view.maxPersonalitySize = limits.injected_file_content_bytes ?? -1;
  }
  if (isAtMost(version, '2.35')) {
    Object.assign(view, {
      maxSecurityGroups: limits.security_groups ?? -1,
      maxSecurityGroupRules: limits.security_group_rules ?? -1,
      maxTotalFloatingIps: limits.floating_ips ?? -1,
      totalSecurityGroupsUsed: usage.security_groups ?? 0,
      totalFloatingIpsUsed: usage.floating_ips ?? 0,
    });
  }
  return view;
}
