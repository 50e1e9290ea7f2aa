/**
 * knex's query events, paired: the one place that turns `query` / `query-response` /
 * `query-error` into "a statement started" and "that statement ended". The SQL logger
 * and the telemetry hooks both listen through it.
 */
import type { Knex } from 'knex';

/** What knex passes to query listeners (not typed by knex). */
export interface QueryEvent {
  __knexQueryUid?: string;
  __knexTxId?: string;
  sql: string;
  bindings?: unknown[];
  /** On the settling event: what the driver answered. */
  response?: unknown;
  /** Set by the session on every statement it builds. */
  queryContext?: { requestId?: string };
}

/** Called when a statement ends: `error` when it failed; `settled` is knex's settling event. */
export type StatementEnd = (error: Error | undefined, settled: QueryEvent) => void;

/**
 * Calls `start` when a statement with a knex query uid is sent, and the function it
 * returned when that statement answered or failed. Statements without a uid
 * (transaction control: BEGIN, COMMIT, ROLLBACK, which get no response event) go to
 * `untracked`. Returns the function that stops listening.
 */
export function onStatements(knex: Knex, start: (query: QueryEvent) => StatementEnd | undefined, untracked?: (query: QueryEvent) => void): () => void {
  const running = new Map<string, StatementEnd>();
  const onQuery = (query: QueryEvent): void => {
    if (query.__knexQueryUid === undefined) {
      untracked?.(query);
      return;
    }
    const end = start(query);
    if (end !== undefined) running.set(query.__knexQueryUid, end);
  };
  const settle = (query: QueryEvent, error: Error | undefined): void => {
    const end = query.__knexQueryUid === undefined ? undefined : running.get(query.__knexQueryUid);
    if (end === undefined) return;
    running.delete(query.__knexQueryUid!);
    end(error, query);
  };
  const onResponse = (_response: unknown, query: QueryEvent): void => settle(query, undefined);
  const onError = (error: Error, query: QueryEvent): void => settle(query, error);
  knex.on('query', onQuery);
  knex.on('query-response', onResponse);
  knex.on('query-error', onError);
  return () => {
    knex.off('query', onQuery);
    knex.off('query-response', onResponse);
    knex.off('query-error', onError);
    running.clear();
  };
}
