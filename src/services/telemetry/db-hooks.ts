/**
 * Database statement metrics from knex's query events (the same events the SQL logger
 * uses): seconds by statement kind, failures by kind, and the pool's connections.
 */
import type { Knex } from 'knex';
import type { CloudMetrics } from './cloud-metrics.js';

/** What knex passes to query listeners (not typed by knex). */
interface QueryEvent {
  __knexQueryUid?: string;
  sql: string;
}

/** A statement's kind for labels: select, insert, update, delete or other. */
export function statementKind(sql: string): string {
  const verb = /^\s*(\w+)/.exec(sql)?.[1]?.toLowerCase();
  return verb === 'select' || verb === 'insert' || verb === 'update' || verb === 'delete' ? verb : 'other';
}

/** Starts recording the statements of `knex`; returns the function that stops it. */
export function meterStatements(knex: Knex, metrics: CloudMetrics): () => void {
  const started = new Map<string, number>();
  const onQuery = (query: QueryEvent): void => {
    if (query.__knexQueryUid) started.set(query.__knexQueryUid, performance.now());
  };
  const finish = (query: QueryEvent, failed: boolean): void => {
    const uid = query.__knexQueryUid;
    const at = uid === undefined ? undefined : started.get(uid);
    if (at === undefined) return;
    started.delete(uid!);
    const kind = statementKind(query.sql);
    metrics.dbStatement.child([kind]).observe((performance.now() - at) / 1000);
    if (failed) metrics.dbStatementErrors.child([kind]).inc();
  };
  const onResponse = (_response: unknown, query: QueryEvent): void => finish(query, false);
  const onError = (_error: Error, query: QueryEvent): void => finish(query, true);
  knex.on('query', onQuery);
  knex.on('query-response', onResponse);
  knex.on('query-error', onError);
  const pool = (knex.client as { pool?: { numUsed(): number; numFree(): number } }).pool;
  const unwatchPool = metrics.dbPool.addSource(() => [
    [['in_use'], pool?.numUsed() ?? 0],
    [['idle'], pool?.numFree() ?? 0],
  ]);
  return () => {
    knex.off('query', onQuery);
    knex.off('query-response', onResponse);
    knex.off('query-error', onError);
    unwatchPool();
  };
}
