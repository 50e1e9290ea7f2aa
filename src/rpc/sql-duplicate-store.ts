/**
 * A {@link DuplicateStore} shared by every server through one SQL table (MariaDB/MySQL
 * or SQLite, through knex): `rpc_message_claims`, keyed by `_unique_id`.
 *
 * - claim: an INSERT that ignores conflicts, then a SELECT of the rows; the primary key
 *   makes exactly one server's insert win. Claims arriving while a batch is in the
 *   database go together in the next one (group commit). A loser's row says: done →
 *   duplicate; running with a live lease → busy; running with an expired lease (its
 *   owner died mid-handler) → taken over with a conditional UPDATE.
 * - settle: batched, one UPDATE per `flushMs` for all ids settled meanwhile (a copy
 *   arriving in between sees "running" and waits for it).
 * - leases of running claims are renewed in one UPDATE every lease/3; rows older than
 *   `retentionSeconds` are deleted every minute.
 * Cost: two round trips before a message runs, shared by the claims of one batch, plus a
 * share of the batched updates (bench/dedup.ts measures it).
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from '../log/logger.js';
import type { ClaimOutcome, DuplicateStore } from './duplicate-store.js';

/** The table's default name. */
export const CLAIMS_TABLE = 'rpc_message_claims';

/** Settings of the shared store. */
export interface SqlDuplicateStoreOptions {
  /** Table name; default `rpc_message_claims`. */
  table?: string;
  /** Seconds a claim is kept (a copy arriving later runs again); default 3600. */
  retentionSeconds?: number;
  /** Seconds a running claim survives its owner's death before another server takes it over; default 30. */
  leaseSeconds?: number;
  /** Milliseconds between batched settle updates; default 50. */
  flushMs?: number;
  /** Where a failed periodic task (settle, lease renewal, expiry) is reported; it runs again at its next tick. */
  logger?: Logger;
}

interface ClaimRow {
  unique_id: string;
  owner: string;
  done: number | boolean;
  lease_until: number | string;
}

/** Claims shared between servers through a SQL table. */
export class SqlDuplicateStore implements DuplicateStore {
  /** This store's owner token (one per process and store). */
  readonly owner = randomBytes(12).toString('hex');
  private readonly table: string;
  private readonly retentionMs: number;
  private readonly leaseMs: number;
  /** Ids this store claimed and has not marked done in the table yet. */
  private readonly running = new Set<string>();
  private readonly settledIds = new Set<string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private flushing: Promise<void> | undefined;
  private readonly pending: Array<{ uniqueId: string; resolve: (outcome: ClaimOutcome) => void; reject: (error: unknown) => void }> = [];
  private batching: Promise<void> | undefined;
  private ready: Promise<void> | undefined;
  private readonly logger: Logger | undefined;

  constructor(
    private readonly knex: Knex,
    options: SqlDuplicateStoreOptions = {},
  ) {
    this.table = options.table ?? CLAIMS_TABLE;
    this.retentionMs = (options.retentionSeconds ?? 3600) * 1000;
    this.leaseMs = (options.leaseSeconds ?? 30) * 1000;
    this.logger = options.logger;
    this.every(options.flushMs ?? 50, () => this.flush());
    this.every(this.leaseMs / 3, () => this.renewLeases());
    this.every(60_000, () => this.expire());
  }

  /** Creates the table when missing (also done by the first claim). */
  prepare(): Promise<void> {
    this.ready ??= this.createTable().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  /**
   * Claims are grouped: while one batch is in the database, the claims arriving meanwhile
   * wait and go together in the next (one INSERT ... IGNORE and one SELECT per batch).
   */
  claim(uniqueId: string): Promise<ClaimOutcome> {
    return new Promise((resolve, reject) => {
      this.pending.push({ uniqueId, resolve, reject });
      this.batching ??= this.runBatches();
    });
  }

  private async runBatches(): Promise<void> {
    try {
      await this.prepare();
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, 500);
        try {
          const outcomes = await this.claimBatch(batch.map((entry) => entry.uniqueId));
          batch.forEach((entry, i) => entry.resolve(outcomes[i]!));
        } catch (error) {
          for (const entry of batch) entry.reject(error);
        }
      }
    } catch (error) {
      for (const entry of this.pending.splice(0)) entry.reject(error);
    } finally {
      this.batching = undefined;
      if (this.pending.length > 0) this.batching = this.runBatches();
    }
  }

  /** The outcome of each id, in order; repeats within the batch are duplicates of the first. */
  private async claimBatch(ids: readonly string[]): Promise<ClaimOutcome[]> {
    const distinct = [...new Set(ids)];
    const alreadyMine = new Set(distinct.filter((id) => this.running.has(id)));
    const now = Date.now();
    const fresh = distinct.filter((id) => !alreadyMine.has(id));
    if (fresh.length > 0) {
      const rows = fresh.map((id) => ({ unique_id: id, owner: this.owner, done: 0, lease_until: now + this.leaseMs, expires_at: now + this.retentionMs }));
      await this.knex(this.table).insert(rows).onConflict('unique_id').ignore();
    }
    const found = (await this.knex(this.table).whereIn('unique_id', distinct).select('unique_id', 'owner', 'done', 'lease_until')) as ClaimRow[];
    const rowOf = new Map(found.map((row) => [row.unique_id, row]));
    const outcomeOf = new Map<string, ClaimOutcome>();
    for (const id of distinct) outcomeOf.set(id, await this.outcome(id, rowOf.get(id), alreadyMine.has(id), now));
    const seen = new Set<string>();
    return ids.map((id) => {
      const outcome = outcomeOf.get(id)!;
      if (seen.has(id)) return outcome === 'first' ? 'duplicate' : outcome;
      seen.add(id);
      return outcome;
    });
  }

  private async outcome(id: string, row: ClaimRow | undefined, alreadyMine: boolean, now: number): Promise<ClaimOutcome> {
    if (row === undefined) return 'busy'; // expired and deleted meanwhile: the gate asks again
    if (Number(row.done) === 1) return 'duplicate';
    if (row.owner === this.owner) {
      if (alreadyMine) return 'duplicate';
      this.running.add(id);
      return 'first';
    }
    const leaseUntil = Number(row.lease_until);
    if (leaseUntil >= now) return 'busy';
    // Its owner died mid-handler: take it over, unless another server just did.
    const taken = await this.knex(this.table)
      .where({ unique_id: id, owner: row.owner, done: 0, lease_until: leaseUntil })
      .update({ owner: this.owner, lease_until: now + this.leaseMs });
    if (taken !== 1) return 'busy';
    this.running.add(id);
    return 'first';
  }

  settle(uniqueId: string): void {
    if (this.running.has(uniqueId)) this.settledIds.add(uniqueId);
  }

  /** Writes the pending settles, stops the timers. The table stays. */
  async close(): Promise<void> {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    await this.flush();
  }

  /** Marks every settled id done, in batches of 500. */
  flush(): Promise<void> {
    if (this.flushing || this.settledIds.size === 0) return this.flushing ?? Promise.resolve();
    const ids = [...this.settledIds];
    this.settledIds.clear();
    this.flushing = (async () => {
      try {
        for (let start = 0; start < ids.length; start += 500) {
          const batch = ids.slice(start, start + 500);
          await this.knex(this.table).whereIn('unique_id', batch).andWhere({ owner: this.owner }).update({ done: 1 });
          for (const id of batch) this.running.delete(id);
        }
      } catch {
        for (const id of ids) if (this.running.has(id)) this.settledIds.add(id); // next flush tries again
      } finally {
        this.flushing = undefined;
      }
    })();
    return this.flushing;
  }

  private async renewLeases(): Promise<void> {
    const ids = [...this.running];
    const leaseUntil = Date.now() + this.leaseMs;
    for (let start = 0; start < ids.length; start += 500) {
      await this.knex(this.table)
        .whereIn('unique_id', ids.slice(start, start + 500))
        .andWhere({ owner: this.owner, done: 0 })
        .update({ lease_until: leaseUntil });
    }
  }

  private async expire(): Promise<void> {
    await this.knex(this.table).where('expires_at', '<', Date.now()).delete();
  }

  private async createTable(): Promise<void> {
    if (await this.knex.schema.hasTable(this.table)) return;
    try {
      await this.knex.schema.createTable(this.table, (table) => {
        table.string('unique_id', 64).primary();
        table.string('owner', 32).notNullable();
        table.boolean('done').notNullable().defaultTo(false);
        table.bigInteger('lease_until').notNullable();
        table.bigInteger('expires_at').notNullable().index();
      });
    } catch (error) {
      // Another server created it at the same moment.
      if (!(await this.knex.schema.hasTable(this.table))) throw error;
    }
  }

  private every(ms: number, task: () => Promise<unknown>): void {
    // A failed round (the database away) loses nothing: what it had to write is still
    // pending and the next tick tries again; it is reported, never thrown from a timer.
    const timer = setInterval(() => void task().catch((error: unknown) => this.logger?.warn({ err: error }, `duplicate claims table: a periodic task failed; retried in ${ms} ms`)), ms);
    timer.unref();
    this.timers.push(timer);
  }
}
