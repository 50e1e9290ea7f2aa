/**
 * A session is what every resource function runs its queries on: the pool, or an open
 * transaction, plus the request_id of the call, which rides on every statement as knex
 * query context so the SQL logger can stamp each line with it. (No AsyncLocalStorage:
 * on Node 20 it would turn on promise hooks for the whole process.)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import type { DbDialect } from './config.js';
import type { DbContext } from './context.js';
import { DbDeadlockError } from './errors.js';
import { isRetryableDbError, translateDbError } from './error-mapping.js';

/** What every statement of a db call carries to the SQL logger. */
export interface StatementContext {
  requestId: string | undefined;
}

/** The query runner handed to resource functions. Internal to `src/db`. */
export interface DbSession {
  /** Where queries run: the pool, or the open transaction. */
  readonly knex: Knex;
  /** The pool, for starting transactions. */
  readonly pool: Knex;
  readonly dialect: DbDialect;
  readonly inTransaction: boolean;
  /** Context of the running db call, attached to each statement. */
  readonly statementContext: StatementContext;
  /**
   * request_id of each open transaction, by knex transaction id, for BEGIN/COMMIT lines
   * (knex gives them no query context). Owned by one Db.
   */
  readonly transactionRequests: Map<string, string | undefined>;
  /** "database nova on 127.0.0.1:3306", for error messages. */
  readonly targetDescription: string;
  readonly deadlockRetries: number;
  readonly deadlockRetryIntervalMs: number;
}

/** A query builder on a table, in the session's transaction if any, tagged with the call's request_id. */
export function table(session: DbSession, name: string): Knex.QueryBuilder {
  return session.knex(name).queryContext(session.statementContext);
}

/** The same session, for a call made with `ctx`. */
export function sessionFor(session: DbSession, ctx: DbContext): DbSession {
  return ctx.requestId === session.statementContext.requestId
    ? session
    : { ...session, statementContext: { requestId: ctx.requestId } };
}

/**
 * Runs `fn` in a transaction, committed when it resolves and rolled back when it throws.
 * A deadlock or lock-wait timeout re-runs the whole of `fn` (see {@link retryOnDeadlock}),
 * so `fn` must only have database side effects. Inside an open transaction, `fn` simply
 * joins it.
 */
export async function withTransaction<T>(session: DbSession, fn: (tx: DbSession) => Promise<T>): Promise<T> {
  if (session.inTransaction) return fn(session);
  return retryOnDeadlock(session, async () => {
    const transaction = session.pool.transaction((trx) => fn({ ...session, knex: trx, inTransaction: true }));
    // knex returns its Transaction object, whose id is known before BEGIN is sent.
    const { txid } = transaction as unknown as { txid?: string };
    if (txid) session.transactionRequests.set(txid, session.statementContext.requestId);
    try {
      return await transaction;
    } finally {
      if (txid) session.transactionRequests.delete(txid);
    }
  });
}

/**
 * Runs `fn`, and runs it again (up to `deadlockRetries` times, with doubling waits) when
 * it fails with a deadlock, a lock-wait timeout or a busy SQLite database. For a single
 * statement outside a transaction, or a whole transaction; inside an open transaction
 * the retry belongs to whoever opened it, so `fn` runs once.
 */
export async function retryOnDeadlock<T>(session: DbSession, fn: () => Promise<T>): Promise<T> {
  if (session.inTransaction) return fn();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isRetryableDbError(error)) throw error;
      if (attempt >= session.deadlockRetries) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new DbDeadlockError(`Gave up after ${attempt + 1} attempts: ${reason}`, { cause: error });
      }
      const wait = session.deadlockRetryIntervalMs * 2 ** attempt;
      await sleep(wait * (0.5 + Math.random()));
    }
  }
}

/** A resource function: a session, a context, then plain arguments. */
export type ResourceFunction = (session: DbSession, ctx: DbContext, ...args: any[]) => Promise<unknown>;

/** A resource function with its session bound: a context, then plain arguments. */
export type BoundFunction<F> = F extends (session: DbSession, ctx: DbContext, ...args: infer A) => infer R
  ? (ctx: DbContext, ...args: A) => R
  : never;

/** A resource module with every function bound to one session. */
export type Bound<M> = { readonly [K in keyof M]: BoundFunction<M[K]> };

/**
 * Binds every function of a resource module to `session`. Each call's statements carry
 * its context's request_id, and any driver error comes out as a typed {@link DbError}.
 */
export function bindResource<M extends Record<string, ResourceFunction>>(session: DbSession, module: M): Bound<M> {
  const bound: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(module)) {
    bound[name] = (ctx: DbContext, ...args: unknown[]) =>
      fn(sessionFor(session, ctx), ctx, ...args).catch((error: unknown) => {
        throw translateDbError(error, session.targetDescription);
      });
  }
  return bound as Bound<M>;
}
