/**
 * Fixed IPs: allocation of one free address to an instance, safe under concurrency.
 * On MariaDB/MySQL the free row is picked with SELECT ... FOR UPDATE SKIP LOCKED, so
 * concurrent allocations each lock a different row instead of queueing on one; on SQLite
 * the transaction alone is enough (one writer). The UPDATE re-checks that the row is
 * still free either way.
 */
import { randomUUID } from 'node:crypto';
import type { DbContext } from './context.js';
import { DbDeadlockError, InvalidRequestError, NoMoreFixedIpsError, NotFoundError } from './errors.js';
import { modelQuery, firstOrNotFound } from './model-query.js';
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
  /** Id of the interface (port) this address is, while allocated. */
  port_id: string | null;
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
  /** This address of the network rather than the first free one. */
  address?: string;
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
      .first();
    if (request.network_id !== undefined) free.where('network_id', request.network_id);
    if (request.address !== undefined) free.where('address', request.address);
    if (tx.dialect === 'mysql') free.forUpdate().skipLocked();
    const row: unknown = await free;
    if (!row && request.address !== undefined) throw new InvalidRequestError(`Fixed IP ${request.address} is not available in the network.`);
    if (!row) throw new NoMoreFixedIpsError(request.network_id);
    const candidate = readFixedIp(row);
    const changes = { instance_uuid: request.instance_uuid, allocated: true, host: request.host ?? null, port_id: randomUUID(), updated_at: utcNow() };
    const taken = await table(tx, 'fixed_ips').where('id', candidate.id).whereNull('instance_uuid').update(changes);
    // Cannot happen with the row lock; if it ever does, the transaction is re-run.
    if (taken !== 1) throw new DbDeadlockError(`fixed IP ${candidate.id} was taken concurrently`);
    // The row as the UPDATE left it, without reading it back.
    return { ...candidate, ...changes };
  });
}

const RELEASED = { instance_uuid: null, allocated: false, leased: false, host: null, port_id: null } as const;

/**
 * Frees every address of an instance (Nova's `fixed_ip_disassociate`), first taking off
 * the floating IPs associated with them; returns how many.
 */
export async function releaseFixedIpsByInstance(session: DbSession, ctx: DbContext, instanceUuid: string): Promise<number> {
  return withTransaction(session, async (tx) => {
    const ids = modelQuery(tx, ctx, 'fixed_ips').where('instance_uuid', instanceUuid).select('id');
    await table(tx, 'floating_ips').whereIn('fixed_ip_id', ids).update({ fixed_ip_id: null, host: null, updated_at: utcNow() });
    return modelQuery(tx, ctx, 'fixed_ips').where('instance_uuid', instanceUuid).update({ ...RELEASED, updated_at: utcNow() });
  });
}

/** Frees one interface (port) of an instance and its floating IPs; PortNotFound when the instance has no such port. */
export async function releaseFixedIpByPort(session: DbSession, ctx: DbContext, instanceUuid: string, portId: string): Promise<FixedIpRow> {
  return withTransaction(session, async (tx) => {
    const row: unknown = await modelQuery(tx, ctx, 'fixed_ips').where({ instance_uuid: instanceUuid, port_id: portId }).first();
    if (!row) throw new NotFoundError('Port', portId, `Port ${portId} is not attached`);
    const fixedIp = readFixedIp(row);
    await table(tx, 'floating_ips').where('fixed_ip_id', fixedIp.id).update({ fixed_ip_id: null, host: null, updated_at: utcNow() });
    await table(tx, 'fixed_ips').where('id', fixedIp.id).update({ ...RELEASED, updated_at: utcNow() });
    return fixedIp;
  });
}

/** The address with this id; FixedIpNotFound otherwise. */
export async function getFixedIp(session: DbSession, ctx: DbContext, id: number): Promise<FixedIpRow> {
  return firstOrNotFound(modelQuery(session, ctx, 'fixed_ips').where('id', id), readFixedIp, () => new NotFoundError('FixedIp', id));
}

/** The address that is port `portId`; PortNotFound otherwise. */
export async function getFixedIpByPort(session: DbSession, ctx: DbContext, portId: string): Promise<FixedIpRow> {
  return firstOrNotFound(modelQuery(session, ctx, 'fixed_ips').where('port_id', portId), readFixedIp, () => new NotFoundError('Port', portId, `Port ${portId} could not be found.`));
}

/** Records the host of every address of an instance (after it moved hosts). */
export async function setFixedIpsHost(session: DbSession, ctx: DbContext, instanceUuid: string, host: string): Promise<number> {
  return modelQuery(session, ctx, 'fixed_ips').where('instance_uuid', instanceUuid).update({ host, updated_at: utcNow() });
}

/** The addresses of an instance, in allocation order. */
export async function listFixedIpsByInstance(session: DbSession, ctx: DbContext, instanceUuid: string): Promise<FixedIpRow[]> {
  const rows: unknown[] = await modelQuery(session, ctx, 'fixed_ips').where('instance_uuid', instanceUuid).orderBy('id');
  return rows.map(readFixedIp);
}

/** The row of one address; FixedIpNotFound otherwise. */
export async function getFixedIpByAddress(session: DbSession, ctx: DbContext, address: string): Promise<FixedIpRow> {
  return firstOrNotFound(modelQuery(session, ctx, 'fixed_ips').where('address', address), readFixedIp, () => new NotFoundError('FixedIp', address));
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
  releaseByPort: releaseFixedIpByPort,
  getByPort: getFixedIpByPort,
  setHost: setFixedIpsHost,
  listByInstance: listFixedIpsByInstance,
  getByAddress: getFixedIpByAddress,
  get: getFixedIp,
  countFree: countFreeFixedIps,
};
