/**
 * Key/value tables hanging off an owner row: instance_metadata (owner: instance uuid)
 * and image_metadata (owner: image id). Only live rows are read or written; removing a
 * key soft-deletes its row.
 */
import { NotFoundError, type DbResource } from './errors.js';
import { modelQuery, softDeleteChanges } from './model-query.js';
import { utcNow } from './rows.js';
import { table, withTransaction, type DbSession } from './session.js';

/** Metadata as callers see it: key → value. */
export type Metadata = Record<string, string | null>;

/** A key/value table and the column naming its owner. */
export interface KeyValueTable {
  table: string;
  ownerColumn: string;
  /** Resource named by the NotFoundError of a missing key. */
  resource: DbResource;
}

export const INSTANCE_METADATA: KeyValueTable = {
  table: 'instance_metadata',
  ownerColumn: 'instance_uuid',
  resource: 'InstanceMetadata',
};

export const IMAGE_METADATA: KeyValueTable = { table: 'image_metadata', ownerColumn: 'image_id', resource: 'ImageMetadata' };

interface KeyValueRow {
  id: number;
  key: string;
  value: string | null;
}

/** All live keys of an owner. */
export async function readKeyValues(session: DbSession, spec: KeyValueTable, owner: string | number): Promise<Metadata> {
  const rows: KeyValueRow[] = await liveRows(session, spec, owner).select('id', 'key', 'value').orderBy('key');
  return Object.fromEntries(rows.map((row) => [row.key, row.value]));
}

/** Options of {@link writeKeyValues}. */
export interface WriteKeyValuesOptions {
  /** Remove the keys not in the new metadata (set) instead of keeping them (merge). */
  replace: boolean;
}

/**
 * Sets the given keys (inserting new ones, updating changed ones); with `replace`, also
 * removes every other key. Returns the metadata afterwards.
 */
export async function writeKeyValues(
  session: DbSession,
  spec: KeyValueTable,
  owner: string | number,
  metadata: Metadata,
  options: WriteKeyValuesOptions,
): Promise<Metadata> {
  return withTransaction(session, async (tx) => {
    const now = utcNow();
    const existing = new Map<string, KeyValueRow>();
    const rows: KeyValueRow[] = await liveRows(tx, spec, owner).select('id', 'key', 'value');
    for (const row of rows) existing.set(row.key, row);
    if (options.replace) {
      const removed = rows.filter((row) => !(row.key in metadata)).map((row) => row.id);
      if (removed.length > 0) await table(tx, spec.table).whereIn('id', removed).update(softDeleteChanges(tx, now));
    }
    const inserts: Array<Record<string, unknown>> = [];
    for (const [key, value] of Object.entries(metadata)) {
      const current = existing.get(key);
      if (!current) inserts.push({ [spec.ownerColumn]: owner, key, value, created_at: now, deleted: 0 });
      // `key` in the WHERE is redundant for the database but tells the SQL logger whose value this is.
      else if (current.value !== value) await table(tx, spec.table).where({ id: current.id, key }).update({ value, updated_at: now });
    }
    if (inserts.length > 0) await table(tx, spec.table).insert(inserts);
    return readKeyValues(tx, spec, owner);
  });
}

/** Removes one key; a NotFoundError of the table's resource when the key is not there. */
export async function deleteKeyValue(
  session: DbSession,
  spec: KeyValueTable,
  owner: string | number,
  key: string,
): Promise<void> {
  const removed = await liveRows(session, spec, owner).where('key', key).update(softDeleteChanges(session, utcNow()));
  if (removed === 0) {
    throw new NotFoundError(spec.resource, key, `${spec.resource} with key ${key} could not be found for ${String(owner)}.`);
  }
}

/** Soft-deletes every live key of an owner. */
export async function deleteAllKeyValues(session: DbSession, spec: KeyValueTable, owner: string | number): Promise<void> {
  await liveRows(session, spec, owner).update(softDeleteChanges(session, utcNow()));
}

/** Live rows of an owner. The owner itself was looked up (and scoped) by the caller. */
function liveRows(session: DbSession, spec: KeyValueTable, owner: string | number) {
  return modelQuery(session, {}, spec.table, { readDeleted: 'no' }).where(spec.ownerColumn, owner);
}
