/**
 * SQL echo and slow-statement logging, from knex's query events. With echo on, every
 * statement is logged at info; a statement slower than the threshold is logged at warn
 * whether echo is on or not. Each line carries the statement, its bindings (secrets
 * hidden), its duration, the rows it returned or changed and the request_id of the
 * db call that issued it.
 */
import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { DbDialect } from './config.js';
import { redactBindings } from './sql-redaction.js';
import { onStatements, type QueryEvent, type StatementEnd } from './statement-events.js';

/** Options of {@link attachSqlLogger}. */
export interface SqlLoggerOptions {
  logger: Logger;
  dialect: DbDialect;
  sqlEcho: boolean;
  slowQueryMs: number;
  /** request_id of each open transaction, by knex transaction id (see DbSession). */
  transactionRequests: ReadonlyMap<string, string | undefined>;
}

/** Starts logging the statements of `knex`; returns the function that stops it. */
export function attachSqlLogger(knex: Knex, options: SqlLoggerOptions): () => void {
  const requestIdOf = (query: QueryEvent): string | undefined =>
    query.queryContext?.requestId ?? (query.__knexTxId ? options.transactionRequests.get(query.__knexTxId) : undefined);
  const start = (query: QueryEvent): StatementEnd => {
    const startedAt = performance.now();
    const requestId = requestIdOf(query);
    return (error, settled) => {
      const durationMs = Math.round((performance.now() - startedAt) * 1000) / 1000;
      const slow = durationMs >= options.slowQueryMs;
      if (!slow && !options.sqlEcho) return;
      const fields = {
        sql: settled.sql,
        bindings: redactBindings(settled.sql, settled.bindings),
        duration_ms: durationMs,
        rows: error ? undefined : rowCount(options.dialect, settled.response),
        request_id: requestId,
        tx_id: settled.__knexTxId,
        error: error ? errorSummary(error, settled.sql) : undefined,
      };
      if (slow) options.logger.warn({ ...fields, slow_query_ms: options.slowQueryMs }, 'slow sql statement');
      else options.logger.info(fields, error ? 'sql statement failed' : 'sql statement');
    };
  };
  // Transaction control (BEGIN, COMMIT, ROLLBACK) has no uid and no response event: logged as sent.
  const untracked = (query: QueryEvent): void => {
    if (options.sqlEcho) options.logger.info({ sql: query.sql, request_id: requestIdOf(query), tx_id: query.__knexTxId }, 'sql statement');
  };
  return onStatements(knex, start, untracked);
}

/** Rows returned by a SELECT, or changed by an INSERT, UPDATE or DELETE. */
function rowCount(dialect: DbDialect, response: unknown): number | undefined {
  const result = dialect === 'mysql' && Array.isArray(response) ? response[0] : response;
  if (Array.isArray(result)) return result.length;
  if (result && typeof result === 'object') {
    const counts = result as { affectedRows?: number; changes?: number };
    return counts.affectedRows ?? counts.changes;
  }
  return undefined;
}

function errorSummary(error: Error, sql: string): { code: unknown; message: string } {
  const { code } = error as Error & { code?: unknown };
  // knex prefixes the message with the SQL (never the bindings: compileSqlOnError is off).
  const prefix = `${sql} - `;
  const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  return { code, message };
}
