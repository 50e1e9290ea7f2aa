/**
 * Database statement metrics and spans from knex's query events (the same events the
 * SQL logger uses): seconds by statement kind, failures by kind, the pool's
 * connections, and a CLIENT span per statement (parameterised text only, never the
 * bound values).
 */
import { SpanKind, trace, type Span } from '@opentelemetry/api';
import type { Knex } from 'knex';
import type { CloudMetrics } from './cloud-metrics.js';
import { failSpan } from '../../rpc/telemetry/tracing.js';

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

/** Starts a span per statement of `knex` (child of the active span); returns the function that stops it. */
export function traceStatements(knex: Knex, system: string): () => void {
  const tracer = trace.getTracer('novarpc.db');
  const spans = new Map<string, Span>();
  const onQuery = (query: QueryEvent): void => {
    if (query.__knexQueryUid === undefined) return;
    const kind = statementKind(query.sql);
    const span = tracer.startSpan(`${kind.toUpperCase()}`, { kind: SpanKind.CLIENT });
    if (!span.isRecording()) return;
    span.setAttributes({ 'db.system.name': system, 'db.operation.name': kind.toUpperCase(), 'db.query.text': query.sql.slice(0, 2048) });
    spans.set(query.__knexQueryUid, span);
  };
  const finish = (query: QueryEvent, error?: Error): void => {
    const span = query.__knexQueryUid === undefined ? undefined : spans.get(query.__knexQueryUid);
    if (span === undefined) return;
    spans.delete(query.__knexQueryUid!);
    if (error !== undefined) failSpan(span, error);
    span.end();
  };
  const onResponse = (_response: unknown, query: QueryEvent): void => finish(query);
  const onError = (error: Error, query: QueryEvent): void => finish(query, error);
  knex.on('query', onQuery);
  knex.on('query-response', onResponse);
  knex.on('query-error', onError);
  return () => {
    knex.off('query', onQuery);
    knex.off('query-response', onResponse);
    knex.off('query-error', onError);
  };
}
