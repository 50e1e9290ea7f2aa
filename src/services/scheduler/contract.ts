/**
 * The scheduler's RPC surface (Nova's scheduler/rpcapi.py).
 *
 * Version history:
 *   1.0 - Initial version: run_instance (cast), update_service_capabilities (fanout)
 *   1.1 - select_destinations (call): the hosts a request would go to, without claiming
 */
import { z } from 'zod';
import { defineContract } from '../../rpc/contract.js';

/** The flavor part of a request spec (Nova's `instance_type`). */
export const instanceTypeSchema = z.looseObject({
  id: z.number().int(),
  flavorid: z.string(),
  name: z.string(),
  memory_mb: z.number().int().nonnegative(),
  vcpus: z.number().int().nonnegative(),
  root_gb: z.number().int().nonnegative(),
  ephemeral_gb: z.number().int().nonnegative().default(0),
});

/** What is being booted (Nova's request_spec). */
export const requestSpecSchema = z.looseObject({
  instance_type: instanceTypeSchema,
  image_ref: z.string().nullish(),
  availability_zone: z.string().nullish(),
  project_id: z.string().nullish(),
  /** The instance as created (Nova's instance_properties); metadata saves the compute a read. */
  instance_properties: z.looseObject({ metadata: z.record(z.string(), z.string().nullable()).optional() }).optional(),
});
export type RequestSpec = z.output<typeof requestSpecSchema>;

/** Scheduling state carried across attempts (Nova's filter_properties). */
export const filterPropertiesSchema = z.looseObject({
  retry: z
    .object({
      num_attempts: z.number().int().nonnegative(),
      hosts: z.array(z.string()),
      /** Why the previous attempt failed. */
      exc: z.string().nullish(),
    })
    .optional(),
});
export type FilterProperties = z.output<typeof filterPropertiesSchema>;

export const schedulerContract = defineContract({
  topic: 'scheduler',
  name: 'SchedulerManager',
  version: '1.1',
  methods: {
    run_instance: {
      kind: 'cast',
      since: '1.0',
      description: 'Pick a compute host for a server, claim its resources and cast the build to it.',
      args: z.strictObject({
        instance_id: z.string().min(1),
        request_spec: requestSpecSchema,
        filter_properties: filterPropertiesSchema.default({}),
      }),
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
