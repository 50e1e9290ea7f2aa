/**
 * The one place where soft delete and project scoping are applied (Nova's `model_query`).
 * Every resource query starts here, so no query can forget either rule.
 */
import type { Knex } from 'knex';
import type { DbContext, ReadDeleted } from './context.js';
import type { NotFoundError } from './errors.js';
import { table, type DbSession } from './session.js';

/** How a table is scoped. */
export interface ScopeOptions {
  /** Column naming the owning project. Absent for tables shared by every project. */
  projectColumn?: string;
  /** Boolean column that makes a row visible to every project (e.g. `images.is_public`). */
  publicColumn?: string;
  /** Overrides the context's `readDeleted` (e.g. a lookup that must see deleted rows). */
  readDeleted?: ReadDeleted;
}

/**
 * A query builder on `tableName` that only reaches the rows the context may see:
 * - soft delete: `deleted = 0` for read_deleted 'no' (default), `deleted <> 0` for 'only',
 *   no filter for 'yes';
 * - project scoping: a non-admin context only reaches rows of its own project (and public
 *   rows when the table has a public column); without a project it reaches none of them.
 * Works for SELECT, UPDATE and DELETE builders alike.
 */
export function modelQuery(
  session: DbSession,
  ctx: DbContext,
  tableName: string,
  options: ScopeOptions = {},
): Knex.QueryBuilder {
  const query = table(session, tableName);
  applySoftDeleteFilter(query, tableName, options.readDeleted ?? ctx.readDeleted ?? 'no');
  if (options.projectColumn && !ctx.isAdmin) {
    applyProjectScope(query, ctx, tableName, options.projectColumn, options.publicColumn);
  }
  return query;
}

function applySoftDeleteFilter(query: Knex.QueryBuilder, table: string, readDeleted: ReadDeleted): void {
  if (readDeleted === 'no') query.where(`${table}.deleted`, 0);
  else if (readDeleted === 'only') query.whereNot(`${table}.deleted`, 0);
}

function applyProjectScope(
  query: Knex.QueryBuilder,
  ctx: DbContext,
  table: string,
  projectColumn: string,
  publicColumn: string | undefined,
): void {
  const projectId = ctx.projectId ?? null;
  query.where((scope) => {
    if (projectId !== null) scope.orWhere(`${table}.${projectColumn}`, projectId);
    if (publicColumn) scope.orWhere(`${table}.${publicColumn}`, true);
    if (projectId === null && !publicColumn) scope.whereRaw('1 = 0');
  });
}

/**
 * The column changes of a soft delete. Like Nova, `deleted` takes the row's own id, so a
 * unique key that includes `deleted` lets a new live row reuse the values of deleted ones.
 */
export function softDeleteChanges(session: DbSession, now: Date): Record<string, unknown> {
  return { deleted: session.knex.raw('??', ['id']), deleted_at: now, updated_at: now };
}

/**
 * The first row `query` finds, normalised by `read`; the error `notFound` makes
 * otherwise (Nova's "get by key or raise NotFound", the shape of every `get*`).
 */
export async function firstOrNotFound<T>(query: Knex.QueryBuilder, read: (raw: unknown) => T, notFound: () => NotFoundError): Promise<T> {
  const row: unknown = await query.first();
  if (!row) throw notFound();
  return read(row);
}
