/**
 * A session is what every resource function runs its queries on: the pool, or an open
 * transaction. It also carries the request context of the running call, so the SQL
 * logger can stamp each statement with the request_id that caused it.
 */
import type { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import type { DbDialect } from './config.js';
import type { DbContext } from './context.js';
import { DbDeadlockError } from './errors.js';
import { isRetryableDbError, translateDbError } from './error-mapping.js';

/** The query runner handed to resource functions. Internal to `src/db`. */
export interface DbSession {
  /** Where queries run: the pool, or the open transaction. */
  readonly knex: Knex;
  /** The pool, for starting transactions. */
  readonly pool: Knex;
  readonly dialect: DbDialect;
  readonly inTransaction: boolean;
  /** Context of the running db call, read by the SQL logger. Owned by one Db. */
  readonly contextStore: AsyncLocalStorage<DbContext>;
  /** "database nova on 127.0.0.1:3306", for error messages. */
  readonly targetDescription: string;
  readonly deadlockRetries: number;
  readonly deadlockRetryIntervalMs: number;
}

/**
 * Runs `fn` in a transaction, committed when it resolves and rolled back when it throws.
 * A deadlock or lock-wait timeout re-runs the whole of `fn` (up to `deadlockRetries`
 * times, with doubling waits), so `fn` must only have database side effects. Inside an
 * open transaction, `fn` simply joins it.
 */
export async function withTransaction<T>(session: DbSession, fn: (tx: DbSession) => Promise<T>): Promise<T> {
  if (session.inTransaction) return fn(session);
  for (let attempt = 0; ; attempt++) {
    try {
      return await session.pool.transaction((trx) => fn({ ...session, knex: trx, inTransaction: true }));
    } catch (error) {
      if (!isRetryableDbError(error)) throw error;
      if (attempt >= session.deadlockRetries) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new DbDeadlockError(`Transaction failed after ${attempt + 1} attempts: ${reason}`, { cause: error });
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
 * Binds every function of a resource module to `session`. Each call runs with its
 * context in the session's context store (for SQL logging) and any driver error comes
 * out as a typed {@link DbError}.
 */
export function bindResource<M extends Record<string, ResourceFunction>>(session: DbSession, module: M): Bound<M> {
  const bound: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(module)) {
    bound[name] = (ctx: DbContext, ...args: unknown[]) =>
      session.contextStore.run(ctx, () => fn(session, ctx, ...args)).catch((error: unknown) => {
        throw translateDbError(error, session.targetDescription);
      });
  }
  return bound as Bound<M>;
}
