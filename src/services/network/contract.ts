/**
 * The network service's RPC surface (Nova's network/rpcapi.py).
 *
 * Version history:
 *   1.0 - Initial version: allocate_for_instance (call), deallocate_for_instance (cast)
 *   1.1 - get_instance_nw_info (call)
 */
import { z } from 'zod';
import { defineContract } from '../../rpc/contract.js';

/** One address of a server, as the network service hands it out. */
export const fixedIpInfo = z.object({
  address: z.string(),
  network_id: z.number(),
  network_label: z.string(),
  version: z.literal(4),
});
export type FixedIpInfo = z.infer<typeof fixedIpInfo>;

const networkInfo = z.object({ fixed_ips: z.array(fixedIpInfo) });

export const networkContract = defineContract({
  topic: 'network',
  version: '1.1',
  methods: {
    allocate_for_instance: {
      kind: 'call',
      since: '1.0',
      description: 'Give a server one fixed IP from the pool; returns its addresses.',
      args: z.strictObject({ instance_id: z.string().min(1), host: z.string().nullish(), project_id: z.string().nullish() }),
      returns: networkInfo,
    },
    deallocate_for_instance: {
      kind: 'cast',
      since: '1.0',
      description: 'Release every fixed IP of a server.',
      args: z.strictObject({ instance_id: z.string().min(1) }),
    },
    get_instance_nw_info: {
      kind: 'call',
      since: '1.1',
      description: 'The addresses of a server.',
      args: z.strictObject({ instance_id: z.string().min(1) }),
      returns: networkInfo,
    },
  },
});
