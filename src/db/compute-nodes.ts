/**
 * Compute nodes: the capacity of each compute host and how much of it instances use.
 * A claim is one conditional UPDATE, so two concurrent boots cannot both take the last
 * gigabyte (the scheduler's claim also sets the instance's host in that same UPDATE);
 * a release gives the amounts back.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { DbContext } from './context.js';
import { ComputeResourcesUnavailableError, NotFoundError, UnexpectedTaskStateError, type ResourceShortfall } from './errors.js';
import { getInstance } from './instances.js';
import { modelQuery, firstOrNotFound } from './model-query.js';
import { rowReader, utcNow } from './rows.js';
import { retryOnDeadlock, table, withTransaction, type DbSession } from './session.js';

/** A row of `compute_nodes`. */
export interface ComputeNodeRow {
  id: number;
  /** The id os-hypervisors shows from microversion 2.53. */
  uuid: string;
  host: string;
  hypervisor_hostname: string | null;
  service_id: number | null;
  vcpus: number;
  memory_mb: number;
  local_gb: number;
  vcpus_used: number;
  memory_mb_used: number;
  local_gb_used: number;
  running_vms: number;
  hypervisor_type: string | null;
  hypervisor_version: number | null;
  cpu_info: string | null;
  created_at: Date;
  updated_at: Date | null;
  deleted_at: Date | null;
  deleted: number;
}

/** What a compute host reports about itself; the used amounts are the db's business. */
export type ComputeNodeReport = Pick<ComputeNodeRow, 'host' | 'vcpus' | 'memory_mb' | 'local_gb'> &
  Partial<Pick<ComputeNodeRow, 'hypervisor_hostname' | 'service_id' | 'hypervisor_type' | 'hypervisor_version' | 'cpu_info'>>;

/** Resources of one instance, claimed from or released to a node. */
export interface ResourceAmounts {
  memory_mb: number;
  vcpus: number;
  local_gb: number;
}

/** The resources an instance row (or the flavor part of one) holds on its host. */
export function instanceAmounts(instance: { memory_mb: number | null; vcpus: number | null; root_gb: number | null; ephemeral_gb: number | null }): ResourceAmounts {
  return {
    memory_mb: instance.memory_mb ?? 0,
    vcpus: instance.vcpus ?? 0,
    local_gb: (instance.root_gb ?? 0) + (instance.ephemeral_gb ?? 0),
  };
}

const readComputeNode = rowReader<ComputeNodeRow>({});
const RESOURCES = [
  { resource: 'memory_mb', used: 'memory_mb_used' },
  { resource: 'vcpus', used: 'vcpus_used' },
  { resource: 'local_gb', used: 'local_gb_used' },
] as const;

/** Creates the node of a host, or updates its capacity and hypervisor details. Returns the row. */
export async function upsertComputeNode(
  session: DbSession,
  ctx: DbContext,
  report: ComputeNodeReport,
): Promise<ComputeNodeRow> {
  return withTransaction(session, async (tx) => {
    const now = utcNow();
    // A plain read, then an update by id or an insert. Not a locking read: on a host's
    // first start its row is missing, a locking read then takes a gap lock, and hosts
    // starting together (a process of 250) deadlock on each other's inserts. Only the
    // host itself reports its node, and the update sets absolute capacity figures.
    const existing: { id: number } | undefined = await modelQuery(tx, ctx, 'compute_nodes').where('host', report.host).first('id');
    if (existing) {
      await table(tx, 'compute_nodes').where('id', existing.id).update({ ...report, updated_at: now });
    } else {
      await table(tx, 'compute_nodes').insert({ hypervisor_hostname: report.host, ...report, uuid: randomUUID(), created_at: now, deleted: 0 });
    }
    return getComputeNode(tx, ctx, report.host);
  });
}

/** The node of a host; ComputeHostNotFound otherwise. */
export async function getComputeNode(session: DbSession, ctx: DbContext, host: string): Promise<ComputeNodeRow> {
  return firstOrNotFound(modelQuery(session, ctx, 'compute_nodes').where('host', host), readComputeNode, () => new NotFoundError('ComputeHost', host));
}

/** Every compute node, by host. */
export async function listComputeNodes(session: DbSession, ctx: DbContext): Promise<ComputeNodeRow[]> {
  const rows: unknown[] = await modelQuery(session, ctx, 'compute_nodes').orderBy('host');
  return rows.map(readComputeNode);
}

/**
 * Takes an instance's resources from a host, atomically (one conditional UPDATE): the
 * usage only grows when the memory, vCPUs and disk all fit; otherwise
 * ComputeResourcesUnavailable says what is short. Returns the node read right after.
 */
export async function claimComputeResources(
  session: DbSession,
  ctx: DbContext,
  host: string,
  amounts: ResourceAmounts,
): Promise<ComputeNodeRow> {
  const claimed = await retryOnDeadlock(session, () => {
    const query = modelQuery(session, ctx, 'compute_nodes').where('host', host);
    for (const { resource, used } of RESOURCES) query.whereRaw('?? + ? <= ??', [used, amounts[resource], resource]);
    const changes: Record<string, unknown> = { running_vms: session.knex.raw('?? + 1', ['running_vms']), updated_at: utcNow() };
    for (const { resource, used } of RESOURCES) changes[used] = session.knex.raw('?? + ?', [used, amounts[resource]]);
    return query.update(changes);
  });
  const node = await getComputeNode(session, ctx, host);
  if (claimed === 0) throw new ComputeResourcesUnavailableError(host, shortfalls(node, amounts));
  return node;
}

/** The instance a claim places: it must still be waiting for a host. */
export interface InstancePlacement {
  uuid: string;
  /** The task_state it must still be in (`scheduling`). */
  expectedTaskState: string;
  /** The vm_state it must still be in (`building`). */
  expectedVmState: string;
}

/**
 * Claims an instance's resources on a host and sets the instance's host: both or neither,
 * and only while the instance is still in the expected states (the scheduler's CAS). On
 * MariaDB/MySQL this is one multi-table UPDATE, so one statement and one commit, and the
 * host's row (which every boot on the host updates) is locked only while it runs; on
 * SQLite, two UPDATEs in a transaction. When nothing changed, the rows are read to say
 * why: InstanceNotFound, UnexpectedTaskState (the instance moved on), or
 * ComputeResourcesUnavailable.
 */
export async function claimComputeResourcesForInstance(
  session: DbSession,
  ctx: DbContext,
  host: string,
  amounts: ResourceAmounts,
  instance: InstancePlacement,
): Promise<void> {
  const now = utcNow();
  const claimed = session.dialect === 'mysql'
    ? await retryOnDeadlock(session, () => {
        const changes: Record<string, unknown> = { 'instances.host': host, 'instances.updated_at': now, 'compute_nodes.updated_at': now };
        changes['compute_nodes.running_vms'] = session.knex.raw('?? + 1', ['compute_nodes.running_vms']);
        for (const { resource, used } of RESOURCES) changes[`compute_nodes.${used}`] = session.knex.raw('?? + ?', [`compute_nodes.${used}`, amounts[resource]]);
        const query = table(session, 'instances')
          .join('compute_nodes', (join) => join.onVal('compute_nodes.host', host).andOnVal('compute_nodes.deleted', 0))
          // The scheduler chooses from host states up to two seconds old: the service's
          // disabled and forced_down flags are checked again here, as of this statement.
          .whereNotExists(closedService(session, host))
          .where({ 'instances.uuid': instance.uuid, 'instances.deleted': 0, 'instances.task_state': instance.expectedTaskState, 'instances.vm_state': instance.expectedVmState });
        for (const { resource, used } of RESOURCES) query.whereRaw('?? + ? <= ??', [`compute_nodes.${used}`, amounts[resource], `compute_nodes.${resource}`]);
        return query.update(changes);
      })
    : await withTransaction(session, async (tx) => {
        if ((await closedService(tx, host).first()) !== undefined) return 0;
        const placed = await table(tx, 'instances')
          .where({ uuid: instance.uuid, deleted: 0, task_state: instance.expectedTaskState, vm_state: instance.expectedVmState })
          .update({ host, updated_at: now });
        if (placed === 0) return 0;
        await claimComputeResources(tx, ctx, host, amounts);
        return placed;
      }).catch((error: unknown) => {
        if (error instanceof ComputeResourcesUnavailableError) return 0;
        throw error;
      });
  if (claimed > 0) return;
  const row = await getInstance(session, ctx, instance.uuid);
  if (row.task_state !== instance.expectedTaskState || row.vm_state !== instance.expectedVmState) {
    throw new UnexpectedTaskStateError(instance.uuid, [instance.expectedTaskState], row.task_state);
  }
  const service = await closedService(session, host).first('disabled', 'forced_down');
  const serviceState = service === undefined ? undefined : service.forced_down ? 'forced down' : 'disabled';
  if (serviceState) throw new ComputeResourcesUnavailableError(host, [], serviceState);
  throw new ComputeResourcesUnavailableError(host, shortfalls(await getComputeNode(session, ctx, host), amounts));
}

/** Gives an instance's resources back to a host (never below zero). Returns the node afterwards. */
export async function releaseComputeResources(
  session: DbSession,
  ctx: DbContext,
  host: string,
  amounts: ResourceAmounts,
): Promise<ComputeNodeRow> {
  const released = await retryOnDeadlock(session, () => {
    const changes: Record<string, unknown> = { running_vms: subtractAtLeastZero(session.knex, 'running_vms', 1), updated_at: utcNow() };
    for (const { resource, used } of RESOURCES) changes[used] = subtractAtLeastZero(session.knex, used, amounts[resource]);
    return modelQuery(session, ctx, 'compute_nodes').where('host', host).update(changes);
  });
  if (released === 0) throw new NotFoundError('ComputeHost', host);
  return getComputeNode(session, ctx, host);
}

/** The compute node db functions, to bind on a Db. */
export const computeNodeFunctions = {
  upsert: upsertComputeNode,
  get: getComputeNode,
  list: listComputeNodes,
  claim: claimComputeResources,
  claimForInstance: claimComputeResourcesForInstance,
  release: releaseComputeResources,
};

/** The host's nova-compute service row when it is disabled or forced down (a query; no row when it takes instances). */
function closedService(session: DbSession, host: string): Knex.QueryBuilder {
  return table(session, 'services')
    .select('services.id')
    .where({ 'services.host': host, 'services.binary': 'nova-compute', 'services.deleted': 0 })
    .andWhere((closed) => closed.where('services.disabled', true).orWhere('services.forced_down', true));
}

function subtractAtLeastZero(knex: Knex, column: string, amount: number): Knex.Raw {
  return knex.raw('case when ?? > ? then ?? - ? else 0 end', [column, amount, column, amount]);
}

function shortfalls(node: ComputeNodeRow, amounts: ResourceAmounts): ResourceShortfall[] {
  return RESOURCES.map(({ resource, used }) => ({ resource, requested: amounts[resource], free: node[resource] - node[used] })).filter(
    (shortfall) => shortfall.requested > shortfall.free,
  );
}
