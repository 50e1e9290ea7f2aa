/**
 * Networks (like `nova-manage network create`): creating one also creates a fixed_ips
 * row for every address an instance can get.
 */
import { randomUUID } from 'node:crypto';
import type { DbContext } from './context.js';
import { NotFoundError } from './errors.js';
import { layoutIpv4Network } from './ipv4.js';
import { modelQuery, firstOrNotFound } from './model-query.js';
import { rowReader, utcNow } from './rows.js';
import { table, withTransaction, type DbSession } from './session.js';

/** A row of `networks`. */
export interface NetworkRow {
  id: number;
  uuid: string;
  label: string;
  cidr: string;
  netmask: string;
  gateway: string;
  broadcast: string;
  bridge: string | null;
  vlan: number | null;
  project_id: string | null;
  host: string | null;
  created_at: Date;
  updated_at: Date | null;
  deleted_at: Date | null;
  deleted: number;
}

/** What a new network needs; gateway, netmask and broadcast follow from the CIDR. */
export interface NewNetwork {
  label: string;
  /** IPv4 CIDR between /8 and /30, e.g. "10.0.0.0/24". */
  cidr: string;
  bridge?: string | null;
  vlan?: number | null;
  project_id?: string | null;
  host?: string | null;
}

const readNetwork = rowReader<NetworkRow>({});
/** Rows per INSERT when creating fixed IPs, to stay far below every engine's bind limit. */
const FIXED_IP_BATCH = 500;

/** Creates a network and its fixed IPs (network, gateway and broadcast addresses left out). */
export async function createNetwork(session: DbSession, _ctx: DbContext, values: NewNetwork): Promise<NetworkRow> {
  const { assignable, ...layout } = layoutIpv4Network(values.cidr);
  const now = utcNow();
  const row = {
    bridge: null,
    vlan: null,
    project_id: null,
    host: null,
    ...values,
    ...layout,
    uuid: randomUUID(),
    created_at: now,
    updated_at: null,
    deleted_at: null,
    deleted: 0,
  };
  return withTransaction(session, async (tx) => {
    const [id] = await table(tx, 'networks').insert(row);
    const networkId = Number(id);
    const addresses = assignable.map((address) => ({ address, network_id: networkId, created_at: now, deleted: 0 }));
    for (let i = 0; i < addresses.length; i += FIXED_IP_BATCH) {
      await table(tx, 'fixed_ips').insert(addresses.slice(i, i + FIXED_IP_BATCH));
    }
    return readNetwork({ ...row, id: networkId });
  });
}

/** The network with this id; NetworkNotFound otherwise. */
export async function getNetwork(session: DbSession, ctx: DbContext, id: number): Promise<NetworkRow> {
  return firstOrNotFound(modelQuery(session, ctx, 'networks').where('id', id), readNetwork, () => new NotFoundError('Network', id));
}

/** The network with this label (e.g. "private"); NetworkNotFound otherwise. */
export async function getNetworkByLabel(session: DbSession, ctx: DbContext, label: string): Promise<NetworkRow> {
  return firstOrNotFound(modelQuery(session, ctx, 'networks').where('label', label).orderBy('id'), readNetwork, () => new NotFoundError('Network', label));
}

/** Every network, oldest first. */
export async function listNetworks(session: DbSession, ctx: DbContext): Promise<NetworkRow[]> {
  const rows: unknown[] = await modelQuery(session, ctx, 'networks').orderBy('id');
  return rows.map(readNetwork);
}

/** The network db functions, to bind on a Db. */
export const networkFunctions = {
  create: createNetwork,
  get: getNetwork,
  getByLabel: getNetworkByLabel,
  list: listNetworks,
};
