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
  }),
});

export const updateServerBody = z.object({
  server: z.strictObject({
    name: z.string().trim().min(1).max(255).optional(),
    accessIPv4: z.union([z.ipv4(), z.literal('')]).optional(),
    accessIPv6: z.union([z.ipv6(), z.literal('')]).optional(),
  }),
});

export const metadataBody = z.object({ metadata: metadataSchema });
export const metaItemBody = z.object({ meta: metadataSchema });

/** Bodies of POST /servers/{id}/action, by action name. */
export const actionBodies = {
  reboot: z.object({ type: z.enum(['SOFT', 'HARD', 'soft', 'hard']).transform((t) => t.toUpperCase() as 'SOFT' | 'HARD') }),
  'os-start': z.null().or(z.object({})),
  'os-stop': z.null().or(z.object({})),
  rebuild: z.looseObject({
    imageRef: reference,
    name: z.string().trim().min(1).max(255).optional(),
    metadata: metadataSchema.optional(),
    adminPass: z.string().optional(),
    accessIPv4: z.ipv4().optional(),
    accessIPv6: z.ipv6().optional(),
  }),
  resize: z.looseObject({ flavorRef: reference }),
  confirmResize: z.null().or(z.object({})),
  revertResize: z.null().or(z.object({})),
  changePassword: z.object({ adminPass: z.string().min(1) }),
  createImage: z.object({ name: z.string().trim().min(1).max(255), metadata: metadataSchema.optional() }),
} as const;

export type ActionName = keyof typeof actionBodies;

/** Parses `body` with `schema` or throws a 400 ApiFault naming the field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, prefix?: string): z.output<S> {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  if (prefix) for (const issue of parsed.error.issues) issue.path.unshift(prefix);
  throw invalidInput(parsed.error);
}
