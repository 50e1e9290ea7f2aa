/**
 * Database statement metrics and spans from knex's query events (the same events the
 * SQL logger uses): seconds by statement kind, failures by kind, the pool's
 * connections, and a CLIENT span per statement (parameterised text only, never the
 * bound values).
 */
import { SpanKind, trace } from '@opentelemetry/api';
import type { Knex } from 'knex';
import type { CloudMetrics } from './cloud-metrics.js';
import { failSpan } from '../../rpc/telemetry/tracing.js';
import { onStatements } from '../../db/statement-events.js';

/** A statement's kind for labels: select, insert, update, delete or other. */
export function statementKind(sql: string): string {
  const verb = /^\s*(\w+)/.exec(sql)?.[1]?.toLowerCase();
  return verb === 'select' || verb === 'insert' || verb === 'update' || verb === 'delete' ? verb : 'other';
}

/** Starts recording the statements of `knex` and its pool; returns the function that stops it. */
export function meterStatements(knex: Knex, metrics: CloudMetrics): () => void {
  const stop = onStatements(knex, (query) => {
    const started = performance.now();
    const kind = statementKind(query.sql);
    return (error) => {
      metrics.dbStatement.child([kind]).observe((performance.now() - started) / 1000);
      if (error !== undefined) metrics.dbStatementErrors.child([kind]).inc();
    };
  });
  const pool = (knex.client as { pool?: { numUsed(): number; numFree(): number } }).pool;
  const unwatchPool = metrics.dbPool.addSource(() => [
    [['in_use'], pool?.numUsed() ?? 0],
    [['idle'], pool?.numFree() ?? 0],
  ]);
  return () => {
    stop();
    unwatchPool();
  };
}

/** Starts a span per statement of `knex` (child of the active span); returns the function that stops it. */
export function traceStatements(knex: Knex, system: string): () => void {
  const tracer = trace.getTracer('novarpc.db');
  return onStatements(knex, (query) => {
    const operation = statementKind(query.sql).toUpperCase();
    const span = tracer.startSpan(operation, { kind: SpanKind.CLIENT });
    if (!span.isRecording()) return undefined;
    span.setAttributes({ 'db.system.name': system, 'db.operation.name': operation, 'db.query.text': query.sql.slice(0, 2048) });
    return (error) => {
      if (error !== undefined) failSpan(span, error);
      span.end();
    };
  });
}
