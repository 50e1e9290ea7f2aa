/**
 * The network service's RPC surface (Nova's network/rpcapi.py).
 *
 * Version history:
 *   1.0 - Initial version: allocate_for_instance (call), deallocate_for_instance (cast)
 *   1.1 - get_instance_nw_info (call)
 *   1.2 - allocate_floating_ip, deallocate_floating_ip, associate_floating_ip,
 *         disassociate_floating_ip, allocate_interface, deallocate_interface,
 *         setup_networks_on_host (all calls); fixed IPs carry their port_id
 */
import { z } from 'zod';
import { defineContract } from '../../rpc/contract.js';

/** One address of a server, as the network service hands it out. */
export const fixedIpInfo = z.object({
  address: z.string(),
  network_id: z.number(),
  network_label: z.string(),
  version: z.literal(4),
  /** The interface this address is (since 1.2). */
  port_id: z.string().nullish(),
});
export type FixedIpInfo = z.infer<typeof fixedIpInfo>;

const networkInfo = z.object({ fixed_ips: z.array(fixedIpInfo) });

/** A floating IP as the network service reports it. */
export const floatingIpInfo = z.object({
  id: z.number().int(),
  address: z.string(),
  pool: z.string(),
  project_id: z.string().nullable(),
  fixed_address: z.string().nullable(),
  instance_id: z.string().nullable(),
});
export type FloatingIpInfo = z.infer<typeof floatingIpInfo>;

const instanceId = z.string().min(1);

export const networkContract = defineContract({
  topic: 'network',
  name: 'NetworkManager',
  version: '1.2',
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
    allocate_floating_ip: {
      kind: 'call',
      since: '1.2',
      description: "Give a project a free address of a floating IP pool; none left is NoMoreFloatingIps.",
      args: z.strictObject({ project_id: z.string().min(1), pool: z.string().min(1) }),
      returns: floatingIpInfo,
    },
    deallocate_floating_ip: {
      kind: 'call',
      since: '1.2',
      description: 'Give a floating IP of the project back to its pool (disassociating it).',
      args: z.strictObject({ floating_ip_id: z.number().int() }),
      returns: floatingIpInfo,
    },
    associate_floating_ip: {
      kind: 'call',
      since: '1.2',
      description: "Associate a project's floating IP with a fixed IP of a server (its first when none is named).",
      args: z.strictObject({ instance_id: instanceId, floating_address: z.string().min(1), fixed_address: z.string().nullish() }),
      returns: floatingIpInfo,
    },
    disassociate_floating_ip: {
      kind: 'call',
      since: '1.2',
      description: 'Take a floating IP off the server it is associated with.',
      args: z.strictObject({ instance_id: instanceId, floating_address: z.string().min(1) }),
      returns: floatingIpInfo,
    },
    allocate_interface: {
      kind: 'call',
      since: '1.2',
      description: 'Give a server one more address (an interface) on a network, optionally a given address.',
      args: z.strictObject({ instance_id: instanceId, host: z.string().nullish(), network_id: z.number().int().nullish(), address: z.string().nullish() }),
      returns: fixedIpInfo,
    },
    deallocate_interface: {
      kind: 'call',
      since: '1.2',
      description: 'Free one interface (port) of a server and its floating IPs.',
      args: z.strictObject({ instance_id: instanceId, port_id: z.string().min(1) }),
      returns: fixedIpInfo,
    },
    setup_networks_on_host: {
      kind: 'call',
      since: '1.2',
      description: "Record a server's new host on its addresses (after an evacuation).",
      args: z.strictObject({ instance_id: instanceId, host: z.string().min(1) }),
      returns: networkInfo,
    },
  },
});
