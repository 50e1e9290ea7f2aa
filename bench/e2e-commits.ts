/**
 * Counts, per request_id, the SQL statements and the commits that request caused on a
 * knex pool, from knex's query events: a commit is either a write (INSERT, UPDATE,
 * DELETE) sent outside a transaction (autocommit) or the COMMIT of a transaction whose
 * statements carried that request_id. Every service of the e2e benchmark shares one
 * pool in-process, and a boot's request_id rides from the API through the scheduler,
 * the compute and the network service, so the counts of one request_id are the SQL
 * cost of one boot, from POST /servers to ACTIVE (heartbeats and periodic tasks carry
 * other request_ids and are left out).
 */
import type { Knex } from 'knex';

/** What knex passes to query listeners (not typed by knex). */
interface QueryEvent {
  __knexTxId?: string;
  sql: string;
  queryContext?: { requestId?: string };
}

/** The SQL cost of one request. */
interface RequestCost {
  statements: number;
  /** The statements themselves (first 160 characters), when the counter keeps them. */
  sql?: string[];
  commits: number;
  /** What each commit wrote, e.g. "insert instances" or "tx(update instances + update compute_nodes)". */
  commitKinds: string[];
}

/** Totals over a set of requests. */
export interface CommitTotals {
  requests: number;
  statements: number;
  commits: number;
  /** How often each kind of commit occurred, most frequent first. */
  kinds: Array<[kind: string, count: number]>;
}

/** Counts statements and commits by request_id until stopped. */
export class CommitCounter {
  private readonly costs = new Map<string, RequestCost>();
  /** request_id and writes of each open transaction, by knex transaction id. */
  private readonly transactions = new Map<string, { requestId: string | undefined; writes: string[] }>();
  private readonly listener = (query: QueryEvent): void => this.onQuery(query);

  /** With `keepSql`, each request's statements are kept for {@link statementsOf}. */
  constructor(
    private readonly knex: Knex,
    private readonly keepSql = false,
  ) {
    knex.on('query', this.listener);
  }

  /** The statements of one request, in order (only with `keepSql`). */
  statementsOf(requestId: string): string[] {
    return this.costs.get(requestId)?.sql ?? [];
  }

  /** Sums the costs of `requestIds` (requests never seen count as zero-cost requests). */
  totals(requestIds: Iterable<string>): CommitTotals {
    const totals: CommitTotals = { requests: 0, statements: 0, commits: 0, kinds: [] };
    const kinds = new Map<string, number>();
    for (const id of requestIds) {
      totals.requests++;
      const cost = this.costs.get(id);
      if (!cost) continue;
      totals.statements += cost.statements;
      totals.commits += cost.commits;
      for (const kind of cost.commitKinds) kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    totals.kinds = [...kinds].sort((a, b) => b[1] - a[1]);
    return totals;
  }

  stop(): void {
    this.knex.off('query', this.listener);
  }

  private onQuery(query: QueryEvent): void {
    const txId = query.__knexTxId;
    const open = txId === undefined ? undefined : this.transactions.get(txId);
    const requestId = query.queryContext?.requestId ?? open?.requestId;
    const verb = /^\s*(\w+)/.exec(query.sql)?.[1]?.toLowerCase() ?? '';
    if (txId !== undefined && (verb === 'begin' || verb === 'start')) {
      this.transactions.set(txId, { requestId, writes: [] });
    } else if (txId !== undefined && open && open.requestId === undefined && requestId !== undefined) {
      // BEGIN carries no request_id: it is the request's once its first statement says whose it is.
      open.requestId = requestId;
      const cost = this.cost(requestId);
      cost.statements++;
      if (this.keepSql) (cost.sql ??= []).push('BEGIN');
    }
    const cost = requestId === undefined ? undefined : this.cost(requestId);
    if (cost) cost.statements++;
    if (cost && this.keepSql) (cost.sql ??= []).push(query.sql.slice(0, 160));
    const write = isWrite(verb) ? `${verb} ${tableOf(query.sql)}` : undefined;
    if (txId === undefined) {
      if (write && cost) {
        cost.commits++;
        cost.commitKinds.push(write);
      }
      return;
    }
    if (write) open?.writes.push(write);
    if (verb === 'commit' || verb === 'rollback') {
      this.transactions.delete(txId);
      if (verb === 'commit' && cost && open) {
        cost.commits++;
        cost.commitKinds.push(`tx(${open.writes.join(' + ') || 'read only'})`);
      }
    }
  }

  private cost(requestId: string): RequestCost {
    let cost = this.costs.get(requestId);
    if (!cost) {
      cost = { statements: 0, commits: 0, commitKinds: [] };
      this.costs.set(requestId, cost);
    }
    return cost;
  }
}

function isWrite(verb: string): boolean {
  return verb === 'insert' || verb === 'update' || verb === 'delete' || verb === 'replace';
}

/** The tables a write names: `insert into \`instances\`` → instances; a multi-table UPDATE → instances+compute_nodes. */
function tableOf(sql: string): string {
  const first = /(?:into|update|from)\s+`?(\w+)`?/i.exec(sql)?.[1] ?? '?';
  const joined = /^\s*update\s+\S+\s+(?:inner\s+)?join\s+`?(\w+)`?/i.exec(sql)?.[1];
  return joined ? `${first}+${joined}` : first;
}
