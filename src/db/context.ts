/**
 * The request context every db function takes. It is structural on purpose: the RPC
 * layer's RequestContext sits above the db layer and satisfies this type without
 * `src/db` importing it.
 */

/** Which rows a query sees with respect to soft delete (Nova's `read_deleted`). */
export type ReadDeleted = 'no' | 'yes' | 'only';

/** The part of a request context the db layer reads. */
export interface DbContext {
  /** Logged with every SQL statement the call issues, and stored in instance actions. */
  requestId?: string;
  /** Project of the caller; non-admin callers only see rows of this project. */
  projectId?: string | null;
  /** User of the caller; recorded in instance actions. */
  userId?: string | null;
  /** Admin callers see every project's rows. Default false. */
  isAdmin?: boolean;
  /** Soft-deleted rows: hidden ('no', the default), included ('yes') or alone ('only'). */
  readDeleted?: ReadDeleted;
}

/** An admin context, like Nova's `get_admin_context()`, for services and tests. */
export function adminContext(fields: Omit<DbContext, 'isAdmin'> = {}): DbContext {
  return { ...fields, isAdmin: true };
}

/** The same context seeing soft-deleted rows as asked. */
export function withReadDeleted(ctx: DbContext, readDeleted: ReadDeleted): DbContext {
  return { ...ctx, readDeleted };
}
