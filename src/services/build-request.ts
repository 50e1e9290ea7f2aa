/**
 * What a server build carries from the API through the scheduler to the compute (Nova's
 * request_spec and filter_properties), and the `run_instance` arguments both the
 * scheduler and the compute contracts take. The one definition both contracts import.
 */
import { z } from 'zod';

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

/** The arguments of `run_instance`, to the scheduler (place it) and to the compute (build it). */
export const runInstanceArgs = z.strictObject({
  instance_id: z.string().min(1),
  request_spec: requestSpecSchema,
  filter_properties: filterPropertiesSchema.default({}),
});
