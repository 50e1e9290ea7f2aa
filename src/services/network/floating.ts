/**
 * The network service's floating IP and interface handlers (contract 1.2): allocation
 * from a pool and back, association with a server's fixed IP, and extra interfaces.
 * Every change goes through the db functions that make it safe under concurrency.
 */
import type { Db, FixedIpRow, FloatingIpRow } from '../../db/index.js';
import { InvalidRequestError } from '../../db/index.js';
import type { ContractHandlers } from '../../rpc/contract.js';
import type { RequestContext } from '../../rpc/index.js';
import { elevated } from '../context.js';
import type { networkContract, FixedIpInfo, FloatingIpInfo } from './contract.js';

type Handlers = ContractHandlers<typeof networkContract.methods>;
type FloatingHandlers = Pick<
  Handlers,
  'allocate_floating_ip' | 'deallocate_floating_ip' | 'associate_floating_ip' | 'disassociate_floating_ip' | 'allocate_interface' | 'deallocate_interface' | 'setup_networks_on_host'
>;

/** What the handlers need from the manager. */
export interface FloatingDeps {
  db: Db;
  describe(ctx: RequestContext, row: FixedIpRow): Promise<FixedIpInfo>;
  log(ctx: RequestContext, fields: Record<string, unknown>, message: string): void;
}

/** The floating IP and interface handlers. */
export function floatingHandlers(deps: FloatingDeps): FloatingHandlers {
  const { db } = deps;
  const view = async (ctx: RequestContext, row: FloatingIpRow): Promise<FloatingIpInfo> => {
    const fixed = row.fixed_ip_id === null ? undefined : await db.fixedIps.get(elevated(ctx), row.fixed_ip_id);
    return { id: row.id, address: row.address, pool: row.pool, project_id: row.project_id, fixed_address: fixed?.address ?? null, instance_id: fixed?.instance_uuid ?? null };
  };
  const fixedIpsOf = (ctx: RequestContext, instanceId: string) => db.fixedIps.listByInstance(elevated(ctx), instanceId);
  return {
    allocate_floating_ip: async (ctx, args) => {
      const row = await db.floatingIps.allocate(elevated(ctx), args.pool, args.project_id);
      deps.log(ctx, { address: row.address, pool: row.pool, project_id: args.project_id }, `allocated floating IP ${row.address}`);
      return view(ctx, row);
    },
    deallocate_floating_ip: async (ctx, args) => {
      const row = await db.floatingIps.deallocate(ctx, args.floating_ip_id);
      deps.log(ctx, { address: row.address }, `released floating IP ${row.address}`);
      return view(ctx, { ...row, project_id: null, fixed_ip_id: null });
    },
    associate_floating_ip: async (ctx, args) => {
      const fixedIps = await fixedIpsOf(ctx, args.instance_id);
      const target = args.fixed_address ? fixedIps.find((ip) => ip.address === args.fixed_address) : fixedIps[0];
      if (!target) {
        throw new InvalidRequestError(args.fixed_address ? `Specified fixed address not assigned to instance` : `Instance ${args.instance_id} has no fixed IP to associate with.`);
      }
      const row = await db.floatingIps.associate(ctx, args.floating_address, target.id, target.host);
      deps.log(ctx, { instance_id: args.instance_id, address: row.address, fixed_address: target.address }, `associated floating IP ${row.address}`);
      return view(ctx, row);
    },
    disassociate_floating_ip: async (ctx, args) => {
      const fixedIps = await fixedIpsOf(ctx, args.instance_id);
      const row = await db.floatingIps.disassociate(ctx, args.floating_address, fixedIps.map((ip) => ip.id));
      deps.log(ctx, { instance_id: args.instance_id, address: row.address }, `disassociated floating IP ${row.address}`);
      return view(ctx, row);
    },
    allocate_interface: async (ctx, args) => {
      const request = { instance_uuid: args.instance_id, host: args.host ?? null, ...(args.network_id ? { network_id: args.network_id } : {}), ...(args.address ? { address: args.address } : {}) };
      const row = await db.fixedIps.allocate(elevated(ctx), request);
      deps.log(ctx, { instance_id: args.instance_id, address: row.address, port_id: row.port_id }, `attached interface ${row.port_id}`);
      return deps.describe(ctx, row);
    },
    deallocate_interface: async (ctx, args) => {
      const row = await db.fixedIps.releaseByPort(elevated(ctx), args.instance_id, args.port_id);
      deps.log(ctx, { instance_id: args.instance_id, address: row.address, port_id: args.port_id }, `detached interface ${args.port_id}`);
      return deps.describe(ctx, row);
    },
    setup_networks_on_host: async (ctx, args) => {
      await db.fixedIps.setHost(elevated(ctx), args.instance_id, args.host);
      const rows = await fixedIpsOf(ctx, args.instance_id);
      deps.log(ctx, { instance_id: args.instance_id, instance_host: args.host }, 'addresses moved to the new host');
      return { fixed_ips: await Promise.all(rows.map((row) => deps.describe(ctx, row))) };
    },
  };
}
