/**
 * Floating IPs (Nova-network's `floating_ip_*`): public addresses a project allocates from
 * a pool, then associates with one of its servers' fixed IPs. Allocation is safe under
 * concurrency the same way fixed IPs are (SELECT ... FOR UPDATE SKIP LOCKED on MariaDB,
 * the single writer on SQLite, and an UPDATE that re-checks the row is still free).
 */
import type { DbContext } from './context.js';
import { DbDeadlockError, InvalidRequestError, NoMoreFloatingIpsError, NotFoundError } from './errors.js';
import { modelQuery, type ScopeOptions, firstOrNotFound } from './model-query.js';
import { rowReader, utcNow } from './rows.js';
import { table, withTransaction, type DbSession } from './session.js';

/** A row of `floating_ips`. */
export interface FloatingIpRow {
  id: number;
  address: string;
  fixed_ip_id: number | null;
  project_id: string | null;
  pool: string;
  host: string | null;
  auto_assigned: boolean;
  created_at: Date;
  updated_at: Date | null;
  deleted_at: Date | null;
  deleted: number;
}

const SCOPE: ScopeOptions = { projectColumn: 'project_id' };
const readFloatingIp = rowReader<FloatingIpRow>({ booleans: ['auto_assigned'] });

/** Gives a free address of `pool` to `projectId`; FloatingIpPoolNotFound or NoMoreFloatingIps otherwise. */
export async function allocateFloatingIp(session: DbSession, ctx: DbContext, pool: string, projectId: string): Promise<FloatingIpRow> {
  return withTransaction(session, async (tx) => {
    const known: unknown = await modelQuery(tx, ctx, 'floating_ips').where('pool', pool).first('id');
    if (!known) throw new NotFoundError('FloatingIpPool', pool, `Floating IP pool not found: ${pool}`);
    const free = modelQuery(tx, ctx, 'floating_ips').where('pool', pool).whereNull('project_id').orderBy('id').first('id');
    if (tx.dialect === 'mysql') free.forUpdate().skipLocked();
    const candidate: { id: number } | undefined = await free;
    if (!candidate) throw new NoMoreFloatingIpsError(pool);
    const taken = await table(tx, 'floating_ips').where('id', candidate.id).whereNull('project_id').update({ project_id: projectId, updated_at: utcNow() });
    if (taken !== 1) throw new DbDeadlockError(`floating IP ${candidate.id} was taken concurrently`);
    return readFloatingIp(await table(tx, 'floating_ips').where('id', candidate.id).first());
  });
}

/** The allocated address with this id the context may see; FloatingIpNotFound otherwise. */
export async function getFloatingIp(session: DbSession, ctx: DbContext, id: number): Promise<FloatingIpRow> {
  return firstOrNotFound(modelQuery(session, ctx, 'floating_ips', SCOPE).where('id', id).whereNotNull('project_id'), readFloatingIp, () => new NotFoundError('FloatingIp', id, `Floating IP not found for ID ${id}`));
}

/** The allocated address `address` the context may see; FloatingIpNotFound otherwise. */
export async function getFloatingIpByAddress(session: DbSession, ctx: DbContext, address: string): Promise<FloatingIpRow> {
  return firstOrNotFound(modelQuery(session, ctx, 'floating_ips', SCOPE).where('address', address).whereNotNull('project_id'), readFloatingIp, () => new NotFoundError('FloatingIp', address, `floating IP not found for address ${address}.`));
}

/** The addresses allocated to a project, by id. */
export async function listFloatingIps(session: DbSession, ctx: DbContext, projectId: string): Promise<FloatingIpRow[]> {
  const rows: unknown[] = await modelQuery(session, ctx, 'floating_ips', SCOPE).where('project_id', projectId).orderBy('id');
  return rows.map(readFloatingIp);
}

/** The addresses associated with these fixed IPs. */
export async function listFloatingIpsByFixedIps(session: DbSession, ctx: DbContext, fixedIpIds: readonly number[]): Promise<FloatingIpRow[]> {
  if (fixedIpIds.length === 0) return [];
  const rows: unknown[] = await modelQuery(session, ctx, 'floating_ips').whereIn('fixed_ip_id', fixedIpIds).orderBy('id');
  return rows.map(readFloatingIp);
}

/** The pools that have addresses. */
export async function listFloatingIpPools(session: DbSession, ctx: DbContext): Promise<string[]> {
  const rows: Array<{ pool: string }> = await modelQuery(session, ctx, 'floating_ips').distinct('pool').orderBy('pool');
  return rows.map((row) => row.pool);
}

/** Gives an address back to its pool (disassociating it first). */
export async function deallocateFloatingIp(session: DbSession, ctx: DbContext, id: number): Promise<FloatingIpRow> {
  const row = await getFloatingIp(session, ctx, id);
  await table(session, 'floating_ips').where('id', id).update({ project_id: null, fixed_ip_id: null, host: null, updated_at: utcNow() });
  return row;
}

/**
 * Associates an allocated address with a fixed IP. InvalidRequest when it is associated
 * with another fixed IP already (disassociate first, as Nova asks).
 */
export async function associateFloatingIp(session: DbSession, ctx: DbContext, address: string, fixedIpId: number, host: string | null): Promise<FloatingIpRow> {
  return withTransaction(session, async (tx) => {
    const row = await getFloatingIpByAddress(tx, ctx, address);
    if (row.fixed_ip_id !== null && row.fixed_ip_id !== fixedIpId) throw new InvalidRequestError(`Floating IP ${address} is already associated with another fixed IP.`);
    const changed = await table(tx, 'floating_ips').where('id', row.id).where((q) => q.whereNull('fixed_ip_id').orWhere('fixed_ip_id', fixedIpId)).update({ fixed_ip_id: fixedIpId, host, updated_at: utcNow() });
    if (changed !== 1) throw new DbDeadlockError(`floating IP ${address} was associated concurrently`);
    return { ...row, fixed_ip_id: fixedIpId, host };
  });
}

/** Disassociates an address from whichever of `fixedIpIds` it is on; InvalidRequest when on none. */
export async function disassociateFloatingIp(session: DbSession, ctx: DbContext, address: string, fixedIpIds: readonly number[]): Promise<FloatingIpRow> {
  const row = await getFloatingIpByAddress(session, ctx, address);
  if (row.fixed_ip_id === null || !fixedIpIds.includes(row.fixed_ip_id)) throw new InvalidRequestError(`Floating IP ${address} is not associated with this server.`);
  await table(session, 'floating_ips').where('id', row.id).update({ fixed_ip_id: null, host: null, updated_at: utcNow() });
  return { ...row, fixed_ip_id: null, host: null };
}

/** The floating IP db functions, to bind on a Db. */
export const floatingIpFunctions = {
  allocate: allocateFloatingIp,
  get: getFloatingIp,
  getByAddress: getFloatingIpByAddress,
  list: listFloatingIps,
  listByFixedIps: listFloatingIpsByFixedIps,
  listPools: listFloatingIpPools,
  deallocate: deallocateFloatingIp,
  associate: associateFloatingIp,
  disassociate: disassociateFloatingIp,
};
