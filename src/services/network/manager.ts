/**
 * The network manager (Nova's flat network manager, reduced): fixed IPs from the
 * database pool, one per server at boot and more as interfaces, and floating IPs.
 */
import type { Db, FixedIpRow, NetworkRow } from '../../db/index.js';
import type { Logger } from '../../log/logger.js';
import { buildEndpoint, type ContractHandlers } from '../../rpc/contract.js';
import type { Endpoint, RequestContext } from '../../rpc/index.js';
import { elevated } from '../context.js';
import type { Manager } from '../service.js';
import { networkContract, type FixedIpInfo } from './contract.js';
import { floatingHandlers } from './floating.js';

/** What the network manager needs. */
export interface NetworkManagerDeps {
  db: Db;
  logger: Logger;
  /** RPC topic; default `network`. */
  topic?: string;
}

/** Hands out and releases fixed IPs. */
export class NetworkManager implements Manager {
  readonly binary = 'nova-network';
  readonly topic: string;
  private readonly labels = new Map<number, string>();

  constructor(private readonly deps: NetworkManagerDeps) {
    this.topic = deps.topic ?? networkContract.topic;
  }

  endpoints(): Endpoint[] {
    return [buildEndpoint(networkContract, this.handlers(), { onInvalid: (method, error, ctx) => this.log(ctx).warn({ method, reason: error.message }, 'invalid arguments') })];
  }

  private handlers(): ContractHandlers<typeof networkContract.methods> {
    return {
      allocate_for_instance: async (ctx, args) => {
        const row = await this.deps.db.fixedIps.allocate(elevated(ctx), { instance_uuid: args.instance_id, host: args.host ?? null });
        this.log(ctx).info({ instance_id: args.instance_id, address: row.address, instance_host: args.host }, `allocated fixed IP ${row.address}`);
        return { fixed_ips: [await this.describe(ctx, row)] };
      },
      deallocate_for_instance: async (ctx, args) => {
        const released = await this.deps.db.fixedIps.releaseByInstance(elevated(ctx), args.instance_id);
        this.log(ctx).info({ instance_id: args.instance_id, released }, 'released fixed IPs');
      },
      get_instance_nw_info: async (ctx, args) => {
        const rows = await this.deps.db.fixedIps.listByInstance(elevated(ctx), args.instance_id);
        return { fixed_ips: await Promise.all(rows.map((row) => this.describe(ctx, row))) };
      },
      ...floatingHandlers({
        db: this.deps.db,
        describe: (ctx, row) => this.describe(ctx, row),
        log: (ctx, fields, message) => this.log(ctx).info(fields, message),
      }),
    };
  }

  private async describe(ctx: RequestContext, row: FixedIpRow): Promise<FixedIpInfo> {
    let label = this.labels.get(row.network_id);
    if (label === undefined) {
      const network: NetworkRow = await this.deps.db.networks.get(elevated(ctx), row.network_id);
      label = network.label;
      this.labels.set(row.network_id, label);
    }
    return { address: row.address, network_id: row.network_id, network_label: label, version: 4, port_id: row.port_id };
  }

  private log(ctx: RequestContext): Logger {
    return this.deps.logger.child({ request_id: ctx.requestId });
  }
}
