/**
 * Request body schemas of the Compute API (zod). A body that does not fit is a 400
 * naming the field.
 */
import { z } from 'zod';
import { invalidInput } from './faults.js';

const metadataValue = z.string().max(255);
const metadataKey = z.string().min(1).max(255);
/** Metadata as the API accepts it: string keys and values of at most 255 characters. */
export const metadataSchema = z.record(metadataKey, metadataValue);

/** A positive count, as a number or a numeric string. */
const count = z.union([z.number().int().min(1), z.string().regex(/^\d+$/).transform(Number)]).pipe(z.number().int().min(1));

/** Last path segment of an image or flavor reference (a bare id or a link). */
const reference = z
  .union([z.string().min(1), z.number().int().transform(String)])
  .transform((value) => value.replace(/\/+$/, '').split('/').pop() ?? value)
  .pipe(z.string().min(1));

/** A server tag as Nova accepts it: 1–60 characters, no `/` or `,`. */
export const tagSchema = z.string().min(1).max(60).regex(/^[^,/]+$/, 'tags may not contain "/" or ","');

export const createServerBody = z.object({
  server: z.looseObject({
    name: z.string().trim().min(1).max(255),
    imageRef: reference,
    flavorRef: reference,
    metadata: metadataSchema.optional(),
    min_count: count.optional(),
    max_count: count.optional(),
    availability_zone: z.string().min(1).max(255).optional(),
    accessIPv4: z.ipv4().optional(),
    accessIPv6: z.ipv6().optional(),
    adminPass: z.string().optional(),
    key_name: z.string().max(255).nullish(),
    security_groups: z.array(z.looseObject({ name: z.string().min(1).max(255) })).optional(),
    description: z.string().max(255).nullish(),
    tags: z.array(tagSchema).max(50).optional(),
  }),
});

export const updateServerBody = z.object({
  server: z.strictObject({
    name: z.string().trim().min(1).max(255).optional(),
    accessIPv4: z.union([z.ipv4(), z.literal('')]).optional(),
    accessIPv6: z.union([z.ipv6(), z.literal('')]).optional(),
    description: z.string().max(255).nullish(),
  }),
});

export const metadataBody = z.object({ metadata: metadataSchema });
export const metaItemBody = z.object({ meta: metadataSchema });

/** Bodies of the lifecycle actions of POST /servers/{id}/action that take arguments. */
export const actionBodies = {
  reboot: z.object({ type: z.enum(['SOFT', 'HARD', 'soft', 'hard']).transform((t) => t.toUpperCase() as 'SOFT' | 'HARD') }),
  rebuild: z.looseObject({
    imageRef: reference,
    name: z.string().trim().min(1).max(255).optional(),
    metadata: metadataSchema.optional(),
    adminPass: z.string().optional(),
    accessIPv4: z.ipv4().optional(),
    accessIPv6: z.ipv6().optional(),
  }),
  resize: z.looseObject({ flavorRef: reference }),
  changePassword: z.object({ adminPass: z.string().min(1) }),
  createImage: z.object({ name: z.string().trim().min(1).max(255), metadata: metadataSchema.optional() }),
} as const;

/** Parses `body` with `schema` or throws a 400 ApiFault naming the field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, prefix?: string): z.output<S> {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  if (prefix) for (const issue of parsed.error.issues) issue.path.unshift(prefix);
  throw invalidInput(parsed.error);
}
