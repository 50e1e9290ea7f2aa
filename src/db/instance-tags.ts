/**
 * Server tags (Nova's `instance_tag_*`): a set of strings per instance, at most 50. Every
 * call first looks the instance up, so project scoping applies to its tags.
 */
import type { DbContext } from './context.js';
import { InvalidRequestError, NotFoundError } from './errors.js';
import { getInstance } from './instances.js';
import { table, withTransaction, type DbSession } from './session.js';

/** How many tags a server may have (Nova's MAX_TAGS_PER_INSTANCE). */
export const MAX_TAGS_PER_INSTANCE = 50;

/** The tags of an instance, sorted. */
export async function listInstanceTags(session: DbSession, ctx: DbContext, instanceUuid: string): Promise<string[]> {
  await getInstance(session, ctx, instanceUuid);
  return readTags(session, instanceUuid);
}

/** The tags of several instances at once (no scoping: the caller read the instances). */
export async function listTagsOfInstances(session: DbSession, _ctx: DbContext, instanceUuids: readonly string[]): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>(instanceUuids.map((uuid) => [uuid, []]));
  if (instanceUuids.length === 0) return result;
  const rows: Array<{ instance_uuid: string; tag: string }> = await table(session, 'tags').whereIn('instance_uuid', [...instanceUuids]).orderBy('tag');
  for (const row of rows) result.get(row.instance_uuid)?.push(row.tag);
  return result;
}

/** Replaces every tag of an instance; returns the new set. */
export async function setInstanceTags(session: DbSession, ctx: DbContext, instanceUuid: string, tags: readonly string[]): Promise<string[]> {
  const unique = [...new Set(tags)];
  if (unique.length > MAX_TAGS_PER_INSTANCE) throw new InvalidRequestError(`Instance has too many tags: at most ${MAX_TAGS_PER_INSTANCE}.`);
  return withTransaction(session, async (tx) => {
    await getInstance(tx, ctx, instanceUuid);
    await table(tx, 'tags').where('instance_uuid', instanceUuid).delete();
    if (unique.length > 0) await table(tx, 'tags').insert(unique.map((tag) => ({ instance_uuid: instanceUuid, tag })));
    return readTags(tx, instanceUuid);
  });
}

/** Adds one tag; returns whether it was new. */
export async function addInstanceTag(session: DbSession, ctx: DbContext, instanceUuid: string, tag: string): Promise<boolean> {
  return withTransaction(session, async (tx) => {
    await getInstance(tx, ctx, instanceUuid);
    const tags = await readTags(tx, instanceUuid);
    if (tags.includes(tag)) return false;
    if (tags.length >= MAX_TAGS_PER_INSTANCE) throw new InvalidRequestError(`Instance has too many tags: at most ${MAX_TAGS_PER_INSTANCE}.`);
    await table(tx, 'tags').insert({ instance_uuid: instanceUuid, tag });
    return true;
  });
}

/** Removes one tag; TagNotFound when the instance does not have it. */
export async function deleteInstanceTag(session: DbSession, ctx: DbContext, instanceUuid: string, tag: string): Promise<void> {
  await getInstance(session, ctx, instanceUuid);
  const removed = await table(session, 'tags').where({ instance_uuid: instanceUuid, tag }).delete();
  if (removed === 0) throw new NotFoundError('Tag', tag, `Instance ${instanceUuid} has no tag '${tag}'`);
}

function readTags(session: DbSession, instanceUuid: string): Promise<string[]> {
  return table(session, 'tags').where('instance_uuid', instanceUuid).orderBy('tag').pluck('tag');
}

/** The instance tag db functions, to bind on a Db. */
export const instanceTagFunctions = {
  list: listInstanceTags,
  listMany: listTagsOfInstances,
  set: setInstanceTags,
  add: addInstanceTag,
  delete: deleteInstanceTag,
};
