/** Instance faults: why a server went to ERROR, newest first (the "fault" of `nova show`). */
import { withReadDeleted, type DbContext } from './context.js';
import { getInstance } from './instances.js';
import { modelQuery } from './model-query.js';
import { rowReader, utcNow } from './rows.js';
import { table, type DbSession } from './session.js';

/** A row of `instance_faults`. */
export interface InstanceFaultRow {
  id: number;
  instance_uuid: string;
  code: number;
  message: string | null;
  details: string | null;
  host: string | null;
  created_at: Date;
  updated_at: Date | null;
  deleted_at: Date | null;
  deleted: number;
}

/** What went wrong. */
export interface NewInstanceFault {
  instance_uuid: string;
  /** HTTP-like code, 500 for an unexpected error. */
  code: number;
  message: string;
  details?: string | null;
  host?: string | null;
}

const MESSAGE_LENGTH = 255;
const readFault = rowReader<InstanceFaultRow>({});

/** Records a fault of an instance (the message is cut to the column's 255 characters). */
export async function createInstanceFault(
  session: DbSession,
  _ctx: DbContext,
  fault: NewInstanceFault,
): Promise<InstanceFaultRow> {
  const row = {
    ...fault,
    message: fault.message.slice(0, MESSAGE_LENGTH),
    details: fault.details ?? null,
    host: fault.host ?? null,
    created_at: utcNow(),
    updated_at: null,
    deleted_at: null,
    deleted: 0,
  };
  const [id] = await table(session, 'instance_faults').insert(row);
  return readFault({ ...row, id: Number(id) });
}

/** Faults of an instance the context may see (deleted instances included), newest first. */
export async function listInstanceFaults(session: DbSession, ctx: DbContext, instanceUuid: string): Promise<InstanceFaultRow[]> {
  await getInstance(session, withReadDeleted(ctx, 'yes'), instanceUuid);
  const rows: unknown[] = await modelQuery(session, ctx, 'instance_faults', { readDeleted: 'no' })
    .where('instance_uuid', instanceUuid)
    .orderBy('id', 'desc');
  return rows.map(readFault);
}

/** The instance fault db functions, to bind on a Db. */
export const instanceFaultFunctions = {
  create: createInstanceFault,
  list: listInstanceFaults,
};
