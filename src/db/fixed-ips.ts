/**
 * Fixed IPs: allocation of one free address to an instance, safe under concurrency.
 * On MariaDB/MySQL the free row is picked with SELECT ... FOR UPDATE SKIP LOCKED, so
 * concurrent allocations each lock a different row instead of queueing on one; on SQLite
 * the transaction alone is enough (one writer). The UPDATE re-checks that the row is
 * still free either way.
 */
import type { DbContext } from './context.js';
import { DbDeadlockError, NoMoreFixedIpsError, NotFoundError } from './errors.js';
import { modelQuery } from './model-query.js';
import { rowReader, utcNow } from './rows.js';
import { table, withTransaction, type DbSession } from './session.js';

/** A row of `fixed_ips`. */
export interface FixedIpRow {
  id: number;
  address: string;
  network_id: number;
  instance_uuid: string | null;
  allocated: boolean;
  leased: boolean;
  reserved: boolean;
  host: string | null;
  created_at: Date;
  updated_at: Date | null;
  deleted_at: Date | null;
  deleted: number;
}

/** What {@link allocateFixedIp} needs. */
export interface FixedIpRequest {
  instance_uuid: string;
  /** Network to take the address from; any network when absent. */
  network_id?: number;
  /** Host of the instance, recorded on the address. */
  host?: string | null;
}

const readFixedIp = rowReader<FixedIpRow>({ booleans: ['allocated', 'leased', 'reserved'] });

/**
 * Gives one free address to an instance and returns its row (Nova's
 * `fixed_ip_associate_pool`). NoMoreFixedIps when the network has none left.
 */
export async function allocateFixedIp(session: DbSession, ctx: DbContext, request: FixedIpRequest): Promise<FixedIpRow> {
  return withTransaction(session, async (tx) => {
    const free = modelQuery(tx, ctx, 'fixed_ips')
      .whereNull('instance_uuid')
      .where('reserved', false)
      .orderBy('id')
      .first('id');
    if (request.network_id !== undefined) free.where('network_id', request.network_id);
    if (tx.dialect === 'mysql') free.forUpdate().skipLocked();
    const candidate: { id: number } | undefined = await free;
    if (!candidate) throw new NoMoreFixedIpsError(request.network_id);
    const taken = await table(tx, 'fixed_ips')
      .where('id', candidate.id)
      .whereNull('instance_uuid')
      .update({ instance_uuid: request.instance_uuid, allocated: true, host: request.host ?? null, updated_at: utcNow() });
    // Cannot happen with the row lock; if it ever does, the transaction is re-run.
    if (taken !== 1) throw new DbDeadlockError(`fixed IP ${candidate.id} was taken concurrently`);
    const row: unknown = await table(tx, 'fixed_ips').where('id', candidate.id).first();
    return readFixedIp(row);
  });
}

/** Frees every address of an instance (Nova's `fixed_ip_disassociate`); returns how many. */
export async function releaseFixedIpsByInstance(session: DbSession, ctx: DbContext, instanceUuid: string): Promise<number> {
  return modelQuery(session, ctx, 'fixed_ips')
    .where('instance_uuid', instanceUuid)
    .update({ instance_uuid: null, allocated: false, leased: false, host: null, updated_at: utcNow() });
}

/** The addresses of an instance, in allocation order. */
export async function listFixedIpsByInstance(session: DbSession, ctx: DbContext, instanceUuid: string): Promise<FixedIpRow[]> {
  const rows: unknown[] = await modelQuery(session, ctx, 'fixed_ips').where('instance_uuid', instanceUuid).orderBy('id');
  return rows.map(readFixedIp);
}

/** The row of one address; FixedIpNotFound otherwise. */
export async function getFixedIpByAddress(session: DbSession, ctx: DbContext, address: string): Promise<FixedIpRow> {
  const row: unknown = await modelQuery(session, ctx, 'fixed_ips').where('address', address).first();
  if (!row) throw new NotFoundError('FixedIp', address);
  return readFixedIp(row);
}

/** How many addresses of a network are still free. */
export async function countFreeFixedIps(session: DbSession, ctx: DbContext, networkId: number): Promise<number> {
  const row: { free: number | string } | undefined = await modelQuery(session, ctx, 'fixed_ips')
    .where('network_id', networkId)
    .whereNull('instance_uuid')
    .where('reserved', false)
    .count({ free: '*' })
    .first();
  return Number(row?.free ?? 0);
}

/** The fixed IP db functions, to bind on a Db. */
export const fixedIpFunctions = {
  allocate: allocateFixedIp,
  releaseByInstance: releaseFixedIpsByInstance,
  listByInstance: listFixedIpsByInstance,
  getByAddress: getFixedIpByAddress,
  countFree: countFreeFixedIps,
};
