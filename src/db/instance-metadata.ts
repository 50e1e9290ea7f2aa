/**
 * Instance metadata (Nova's `instance_metadata_*`): user key/value pairs of a server.
 * Every call first looks the instance up, so project scoping applies to its metadata.
 */
import type { DbContext } from './context.js';
import { getInstance } from './instances.js';
import { deleteKeyValue, INSTANCE_METADATA, readKeyValues, writeKeyValues, type Metadata } from './key-value.js';
import { withTransaction, type DbSession } from './session.js';

/** Options of {@link updateInstanceMetadata}. */
export interface MetadataUpdateOptions {
  /** Remove keys missing from the new metadata (set); default false (merge). */
  replace?: boolean;
}

/** All metadata of an instance. */
export async function getInstanceMetadata(session: DbSession, ctx: DbContext, instanceUuid: string): Promise<Metadata> {
  await getInstance(session, ctx, instanceUuid);
  return readKeyValues(session, INSTANCE_METADATA, instanceUuid);
}

/** Merges (or, with `replace`, sets) an instance's metadata; returns the metadata afterwards. */
export async function updateInstanceMetadata(
  session: DbSession,
  ctx: DbContext,
  instanceUuid: string,
  metadata: Metadata,
  options: MetadataUpdateOptions = {},
): Promise<Metadata> {
  return withTransaction(session, async (tx) => {
    await getInstance(tx, ctx, instanceUuid);
    return writeKeyValues(tx, INSTANCE_METADATA, instanceUuid, metadata, { replace: options.replace ?? false });
  });
}

/** Removes one key; InstanceMetadataNotFound when the instance has no such key. */
export async function deleteInstanceMetadataKey(
  session: DbSession,
  ctx: DbContext,
  instanceUuid: string,
  key: string,
): Promise<void> {
  await withTransaction(session, async (tx) => {
    await getInstance(tx, ctx, instanceUuid);
    await deleteKeyValue(tx, INSTANCE_METADATA, instanceUuid, key);
  });
}

/** The instance metadata db functions, to bind on a Db. */
export const instanceMetadataFunctions = {
  get: getInstanceMetadata,
  update: updateInstanceMetadata,
  deleteKey: deleteInstanceMetadataKey,
};
