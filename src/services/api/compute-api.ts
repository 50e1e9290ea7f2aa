/**
 * The API's server logic (Nova's compute/api.py): create (insert the rows, cast to the
 * scheduler), delete (cast to the compute, or delete locally when its host is gone),
 * and the view data of servers. Routes stay thin and call these.
 */
import { isDbError, isServiceUp, type Db, type FlavorRow, type InstanceRow, type NewInstance, type SecurityGroupRow } from '../../db/index.js';
import { instanceAmounts } from '../../db/compute-nodes.js';
import type { Logger } from '../../log/logger.js';
import type { ContractClient } from '../../rpc/contract.js';
import type { RequestContext } from '../../rpc/index.js';
import type { computeContract } from '../compute/contract.js';
import type { networkContract } from '../network/contract.js';
import type { ServiceConfig } from '../config.js';
import { elevated, errorMessage } from '../context.js';
import { failInstance } from '../instance-errors.js';
import type { schedulerContract } from '../scheduler/contract.js';
import { TaskState, VmState } from '../states.js';
import { resolveBootKey, resolveBootSecurityGroups, type BootKey } from './boot-options.js';
import { CatalogueCache } from './catalogue-cache.js';
import { checkBootQuota, defaultQuotas } from './quotas.js';
import { ApiFault, badRequest, notFoundAs400 } from './faults.js';
import type { ServerDetails } from './views.js';

/** The services the API sends RPCs to, each a typed contract client. */
export interface ApiClients {
  scheduler: ContractClient<typeof schedulerContract.methods>;
  compute: ContractClient<typeof computeContract.methods>;
  network: ContractClient<typeof networkContract.methods>;
}

/** What the API logic needs. */
export interface ComputeApiDeps {
  db: Db;
  clients: ApiClients;
  config: ServiceConfig;
  logger: Logger;
}

/** A validated create request. */
export interface CreateRequest {
  name: string;
  imageRef: string;
  flavorRef: string;
  metadata?: Record<string, string>;
  min_count?: number;
  max_count?: number;
  availability_zone?: string;
  accessIPv4?: string;
  accessIPv6?: string;
  key_name?: string | null;
  security_groups?: Array<{ name: string }>;
  description?: string | null;
  tags?: string[];
}

/** Server operations of the API. */
export class ComputeApi {
  private readonly networkLabels = new Map<number, string>();
  private readonly catalogue: CatalogueCache;

  constructor(private readonly deps: ComputeApiDeps) {
    this.catalogue = new CatalogueCache(deps.db);
  }

  /** Creates `max_count` servers (at least `min_count`) and casts each to the scheduler. */
  async create(ctx: RequestContext, request: CreateRequest): Promise<InstanceRow[]> {
    const flavor = await this.catalogue.flavor(ctx, request.flavorRef).catch(notFoundAs400(`Flavor ${request.flavorRef} could not be found.`));
    if (flavor.disabled) throw badRequest(`Flavor ${request.flavorRef} is disabled.`);
    const image = await this.catalogue.image(ctx, request.imageRef).catch(notFoundAs400(`Can not find requested image ${request.imageRef}.`));
    if (image.status !== 'active') throw badRequest(`Image ${image.uuid} is not active.`);
    if (image.min_ram > flavor.memory_mb) throw badRequest("Flavor's memory is too small for requested image.");
    if (image.min_disk > flavor.root_gb) throw badRequest("Flavor's disk is too small for requested image.");
    const minCount = request.min_count ?? 1;
    const count = request.max_count ?? minCount;
    if (minCount > count) throw badRequest('min_count must be <= max_count');
    if (count > this.deps.config.api.maxCount) {
      throw new ApiFault(403, `Quota exceeded: requested ${count} servers, at most ${this.deps.config.api.maxCount} per request.`);
    }
    // Nova boots as many of max_count as the project's quota allows, and refuses below min_count.
    const bootCount = await checkBootQuota(this.deps.db, ctx, flavor, { min: minCount, max: count }, defaultQuotas(this.deps.config.quota));
    const key = await resolveBootKey(this.deps.db, ctx, request.key_name);
    const groups = await resolveBootSecurityGroups(this.deps.db, ctx, request.security_groups);
    const created: InstanceRow[] = [];
    for (let index = 0; index < bootCount; index++) {
      const name = count > 1 ? `${request.name}-${index + 1}` : request.name;
      created.push(await this.createOne(ctx, request, name, flavor, { key, groups }));
    }
    return created;
  }

  private async createOne(ctx: RequestContext, request: CreateRequest, name: string, flavor: FlavorRow, extras: { key: BootKey; groups: SecurityGroupRow[] }): Promise<InstanceRow> {
    const { db, clients: { scheduler }, logger } = this.deps;
    // The row, its security groups, tags and the create action: one commit, not one each.
    const instance = await db.transaction(ctx, async (tx) => {
      const created = await tx.instances.create(ctx, newInstance(request, name, flavor, extras));
      if (request.tags?.length) await tx.instanceTags.set(ctx, created.uuid, request.tags);
      await tx.instanceActions.start(ctx, created.uuid, 'create');
      return created;
    });
    const requestSpec = {
      instance_type: {
        id: flavor.id, flavorid: flavor.flavorid, name: flavor.name, memory_mb: flavor.memory_mb,
        vcpus: flavor.vcpus, root_gb: flavor.root_gb, ephemeral_gb: flavor.ephemeral_gb,
      },
      image_ref: request.imageRef,
      availability_zone: request.availability_zone ?? null,
      project_id: ctx.projectId,
      instance_properties: { metadata: request.metadata ?? {} },
    };
    const log = logger.child({ request_id: ctx.requestId, instance_id: instance.uuid });
    try {
      await scheduler.run_instance(ctx, { instance_id: instance.uuid, request_spec: requestSpec, filter_properties: {} });
    } catch (error) {
      await failInstance(db, elevated(ctx), instance.uuid, `Could not reach the scheduler: ${errorMessage(error)}`, null, log);
      throw error;
    }
    log.info({ name, vm_state: instance.vm_state, task_state: instance.task_state }, 'server created; cast run_instance to scheduler');
    return instance;
  }

  /**
   * Deletes a server: the compute that runs it destroys it; a server without a host, or
   * whose compute service is down, is deleted here (Nova's local delete).
   */
  async delete(ctx: RequestContext, id: string): Promise<void> {
    const { db, clients: { compute }, logger } = this.deps;
    const instance = await db.instances.get(ctx, id);
    refuseIfLocked(ctx, instance);
    const log = logger.child({ request_id: ctx.requestId, instance_id: id });
    await db.instanceActions.start(ctx, id, 'delete');
    if (instance.host && (await this.computeUp(ctx, instance.host))) {
      await db.instances.update(ctx, id, { task_state: TaskState.DELETING });
      await compute.prepare({ server: instance.host }).terminate_instance(ctx, { instance_id: id });
      log.info({ task_state: TaskState.DELETING }, `delete cast to compute.${instance.host}`);
      return;
    }
    await this.localDelete(ctx, instance);
    log.info({ instance_host: instance.host, vm_state: VmState.DELETED }, 'server deleted locally (no live compute host)');
  }

  private async localDelete(ctx: RequestContext, instance: InstanceRow): Promise<void> {
    const { db } = this.deps;
    const admin = elevated(ctx);
    if (instance.host) {
      await db.computeNodes.release(admin, instance.host, instanceAmounts(instance)).catch(() => undefined);
    }
    await db.fixedIps.releaseByInstance(admin, instance.uuid);
    await db.instances.update(ctx, instance.uuid, { vm_state: VmState.DELETED, task_state: null, terminated_at: new Date() });
    await db.instances.destroy(ctx, instance.uuid);
  }

  /** Whether the compute service of `host` is up and may take requests. */
  async computeUp(ctx: RequestContext, host: string): Promise<boolean> {
    try {
      const service = await this.deps.db.services.getByHostAndBinary(elevated(ctx), host, 'nova-compute');
      return isServiceUp(service, new Date(), this.deps.config.serviceDownTime);
    } catch (error) {
      if (isDbError(error, 'ServiceNotFound')) return false;
      throw error;
    }
  }

  /** The rows the full view of each server needs, loaded together. */
  async details(ctx: RequestContext, instances: readonly InstanceRow[]): Promise<ServerDetails[]> {
    const { db } = this.deps;
    const admin = elevated(ctx);
    const flavors = new Map<number, Promise<FlavorRow | undefined>>();
    const flavorOf = (id: number | null) => {
      if (id === null) return Promise.resolve(undefined);
      if (!flavors.has(id)) flavors.set(id, db.flavors.get(admin, id).catch(() => undefined));
      return flavors.get(id)!;
    };
    const flavorIds = [...new Set(instances.map((instance) => instance.instance_type_id).filter((id): id is number => id !== null))];
    const [extraSpecs, tags] = await Promise.all([
      db.flavorExtras.manyExtraSpecs(admin, flavorIds),
      db.instanceTags.listMany(admin, instances.map((instance) => instance.uuid)),
    ]);
    return Promise.all(
      instances.map(async (instance) => {
        const [metadata, ips, flavor, faults, groups] = await Promise.all([
          db.instanceMetadata.get(ctx, instance.uuid).catch(() => ({})),
          db.fixedIps.listByInstance(admin, instance.uuid),
          flavorOf(instance.instance_type_id),
          instance.vm_state === VmState.ERROR ? db.instanceFaults.list(ctx, instance.uuid) : Promise.resolve([]),
          db.securityGroups.listForInstance(admin, instance.uuid),
        ]);
        const floatingIps = await db.floatingIps.listByFixedIps(admin, ips.map((ip) => ip.id));
        for (const ip of ips) await this.networkLabel(admin, ip.network_id);
        return {
          metadata, ips, floatingIps, networkLabels: this.networkLabels, flavor, fault: faults[0], isAdmin: ctx.isAdmin,
          securityGroups: groups.map((group) => group.name),
          flavorExtraSpecs: extraSpecs.get(instance.instance_type_id ?? -1) ?? {},
          tags: tags.get(instance.uuid) ?? [],
        };
      }),
    );
  }

  private async networkLabel(ctx: RequestContext, networkId: number): Promise<void> {
    if (this.networkLabels.has(networkId)) return;
    const network = await this.deps.db.networks.get(ctx, networkId);
    this.networkLabels.set(networkId, network.label);
  }
}

/** The row of a server to create, with its metadata and security groups. */
function newInstance(request: CreateRequest, name: string, flavor: FlavorRow, extras: { key: BootKey; groups: SecurityGroupRow[] }): NewInstance {
  return {
    display_name: name,
    hostname: name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, 63),
    image_ref: request.imageRef,
    instance_type_id: flavor.id,
    memory_mb: flavor.memory_mb,
    vcpus: flavor.vcpus,
    root_gb: flavor.root_gb,
    ephemeral_gb: flavor.ephemeral_gb,
    availability_zone: request.availability_zone ?? null,
    access_ip_v4: request.accessIPv4 ?? null,
    access_ip_v6: request.accessIPv6 ?? null,
    ...extras.key,
    display_description: request.description ?? null,
    metadata: request.metadata ?? {},
    securityGroupIds: extras.groups.map((group) => group.id),
  };
}

/** A locked server refuses changes from non-admins (Nova's check_instance_lock): 409. */
export function refuseIfLocked(ctx: RequestContext, instance: InstanceRow): void {
  if (instance.locked && !ctx.isAdmin) throw new ApiFault(409, `Instance ${instance.uuid} is locked`);
}
