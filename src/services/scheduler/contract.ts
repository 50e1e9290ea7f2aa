/**
 * The scheduler's RPC surface (Nova's scheduler/rpcapi.py).
 *
 * Version history:
 *   1.0 - Initial version: run_instance (cast), update_service_capabilities (fanout)
 *   1.1 - select_destinations (call): the hosts a request would go to, without claiming
 */
import { z } from 'zod';
import { defineContract } from '../../rpc/contract.js';
import { filterPropertiesSchema, requestSpecSchema, runInstanceArgs } from '../build-request.js';

export const schedulerContract = defineContract({
  topic: 'scheduler',
  name: 'SchedulerManager',
  version: '1.1',
  methods: {
    run_instance: {
      kind: 'cast',
      since: '1.0',
      description: 'Pick a compute host for a server, claim its resources and cast the build to it.',
      args: runInstanceArgs,
    },
    update_service_capabilities: {
      kind: 'fanout',
      since: '1.0',
      description: "A compute host's capabilities and free resources, sent to every scheduler.",
      args: z.strictObject({
        service_name: z.string(),
        host: z.string(),
        capabilities: z.record(z.string(), z.unknown()),
      }),
    },
    select_destinations: {
      kind: 'call',
      since: '1.1',
      description: 'The hosts that would take a request, best first, without claiming anything.',
      args: z.strictObject({ request_spec: requestSpecSchema, filter_properties: filterPropertiesSchema.default({}) }),
      returns: z.object({ hosts: z.array(z.object({ host: z.string(), free_ram_mb: z.number() })) }),
    },
  },
});
