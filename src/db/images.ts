/**
 * The image catalogue and image metadata (properties such as os_distro). A non-admin
 * context sees public images and its own project's.
 */
import { randomUUID } from 'node:crypto';
import type { DbContext } from './context.js';
import { ForbiddenError, NotFoundError } from './errors.js';
import { deleteKeyValue, IMAGE_METADATA, readKeyValues, writeKeyValues, type Metadata } from './key-value.js';
import { modelQuery, type ScopeOptions, firstOrNotFound } from './model-query.js';
import { rowReader, utcNow } from './rows.js';
import { table, withTransaction, type DbSession } from './session.js';

/** A row of `images`. */
export interface ImageRow {
  id: number;
  uuid: string;
  name: string;
  status: string;
  disk_format: string | null;
  container_format: string | null;
  size: number | null;
  min_disk: number;
  min_ram: number;
  is_public: boolean;
  /** Owning project; null for the seeded public images. */
  owner: string | null;
  created_at: Date;
  updated_at: Date | null;
  deleted_at: Date | null;
  deleted: number;
}

/** Columns of a new image; `uuid` is generated and `owner` is the context's project when absent. */
export type NewImage = Partial<Omit<ImageRow, 'id' | 'created_at' | 'updated_at' | 'deleted_at' | 'deleted'>> & {
  name: string;
};

/** Filters of {@link listImages}. */
export interface ImageFilters {
  name?: string;
  status?: string;
}

const SCOPE: ScopeOptions = { projectColumn: 'owner', publicColumn: 'is_public' };
const readImage = rowReader<ImageRow>({ booleans: ['is_public'] });

/** Registers an image and returns its row. */
export async function createImage(session: DbSession, ctx: DbContext, values: NewImage): Promise<ImageRow> {
  const row = {
    status: 'active',
    disk_format: null,
    container_format: null,
    size: null,
    min_disk: 0,
    min_ram: 0,
    is_public: false,
    ...values,
    uuid: values.uuid ?? randomUUID(),
    owner: values.owner ?? ctx.projectId ?? null,
    created_at: utcNow(),
    updated_at: null,
    deleted_at: null,
    deleted: 0,
  };
  const [id] = await table(session, 'images').insert(row);
  return readImage({ ...row, id: Number(id) });
}

/** The image with this uuid, as the context may see it; ImageNotFound otherwise. */
export async function getImage(session: DbSession, ctx: DbContext, uuid: string): Promise<ImageRow> {
  return firstOrNotFound(modelQuery(session, ctx, 'images', SCOPE).where('uuid', uuid), readImage, () => new NotFoundError('Image', uuid));
}

/** What the compute changes of an image it uploads (a snapshot): its status and size. */
export type ImageChanges = Partial<Pick<ImageRow, 'status' | 'size'>>;

/** Changes an image's status or size; returns the new row (ImageNotFound when it is gone). */
export async function updateImage(session: DbSession, ctx: DbContext, uuid: string, changes: ImageChanges): Promise<ImageRow> {
  return withTransaction(session, async (tx) => {
    const image = await getOwnImage(tx, ctx, uuid);
    await table(tx, 'images').where('id', image.id).update({ ...changes, updated_at: utcNow() });
    return getImage(tx, ctx, uuid);
  });
}

/** Images the context may see, by name. */
export async function listImages(session: DbSession, ctx: DbContext, filters: ImageFilters = {}): Promise<ImageRow[]> {
  const query = modelQuery(session, ctx, 'images', SCOPE).orderBy([{ column: 'name' }, { column: 'id' }]);
  if (filters.name !== undefined) query.where('name', filters.name);
  if (filters.status !== undefined) query.where('status', filters.status);
  const rows: unknown[] = await query;
  return rows.map(readImage);
}

/** All properties of an image. */
export async function getImageMetadata(session: DbSession, ctx: DbContext, uuid: string): Promise<Metadata> {
  const image = await getImage(session, ctx, uuid);
  return readKeyValues(session, IMAGE_METADATA, image.id);
}

/** Merges (or, with `replace`, sets) an image's properties; returns them afterwards. */
export async function updateImageMetadata(
  session: DbSession,
  ctx: DbContext,
  uuid: string,
  metadata: Metadata,
  options: { replace?: boolean } = {},
): Promise<Metadata> {
  return withTransaction(session, async (tx) => {
    const image = await getOwnImage(tx, ctx, uuid);
    return writeKeyValues(tx, IMAGE_METADATA, image.id, metadata, { replace: options.replace ?? false });
  });
}

/** Removes one property; ImageMetadataNotFound when the image has no such key. */
export async function deleteImageMetadataKey(session: DbSession, ctx: DbContext, uuid: string, key: string): Promise<void> {
  await withTransaction(session, async (tx) => {
    const image = await getOwnImage(tx, ctx, uuid);
    await deleteKeyValue(tx, IMAGE_METADATA, image.id, key);
  });
}

/** The image db functions, to bind on a Db. */
export const imageFunctions = {
  create: createImage,
  get: getImage,
  update: updateImage,
  list: listImages,
  getMetadata: getImageMetadata,
  updateMetadata: updateImageMetadata,
  deleteMetadataKey: deleteImageMetadataKey,
};

/** An image the context may change: its project's own, or any for an admin. */
async function getOwnImage(session: DbSession, ctx: DbContext, uuid: string): Promise<ImageRow> {
  const image = await getImage(session, ctx, uuid);
  if (!ctx.isAdmin && image.owner !== (ctx.projectId ?? null)) {
    throw new ForbiddenError(`Image ${uuid} belongs to another project and cannot be changed.`);
  }
  return image;
}
