/**
 * Duplicate suppression by `_unique_id`. A message can reach servers twice: the
 * publisher sends it again when its channel died before the broker's confirm (the
 * first copy may have been enqueued all the same), and the broker redelivers what a
 * lost consumer had not acknowledged. A {@link DuplicateStore} decides which copy runs.
 *
 * - {@link LocalDuplicateWindow} (the default) remembers the last N ids of one server:
 *   free, but two copies that reach two different servers both run.
 * - {@link SqlDuplicateStore} (src/rpc/sql-duplicate-store.ts) shares claims between
 *   servers through a table, so that one copy runs across all of them.
 *
 * A claim is *running* until its handler settled, then *done*. A copy whose id is
 * running elsewhere waits (its owner may still crash: then the owner's lease expires
 * and the waiting copy takes the claim over), a copy whose id is done is dropped.
 */
import type { Logger } from '../log/logger.js';
import { RecentIds } from './util/recent-ids.js';

/** `first`: run it. `duplicate`: it ran (or runs here) already. `busy`: another server runs it now. */
export type ClaimOutcome = 'first' | 'duplicate' | 'busy';

/** Where servers record the `_unique_id`s they run. */
export interface DuplicateStore {
  /** Claims `uniqueId` for this server. */
  claim(uniqueId: string): ClaimOutcome | Promise<ClaimOutcome>;
  /** The claimed message's handler settled (success or failure): later copies are duplicates. */
  settle(uniqueId: string): void;
  /** Stops background work (lease renewal, expiry). */
  close?(): Promise<void>;
}

/** The per-server window: the last `capacity` ids this server saw. */
export class LocalDuplicateWindow implements DuplicateStore {
  private readonly recent: RecentIds;

  constructor(capacity = 1024) {
    this.recent = new RecentIds(capacity);
  }

  claim(uniqueId: string): 'first' | 'duplicate' {
    return this.recent.add(uniqueId) ? 'first' : 'duplicate';
  }

  settle(): void {}
}

/** What the server does with a copy. */
export type Admission = 'run' | 'duplicate' | 'requeue';

/**
 * The server's side of a store: waits while another server runs the id (polling every
 * `pollMs`), falls back to the local window when the store fails (logged: cross-server
 * copies may then run twice), and hands copies still waiting at close back to the queue.
 */
export class DuplicateGate {
  private readonly fallback = new LocalDuplicateWindow(4096);
  private closed = false;
  private warnedAt = 0;

  constructor(
    private readonly store: DuplicateStore,
    private readonly logger: Logger,
    private readonly pollMs = 200,
  ) {}

  /** Whether the copy with `uniqueId` runs; synchronous for a synchronous store. */
  admit(uniqueId: string): Admission | Promise<Admission> {
    let claimed: ClaimOutcome | Promise<ClaimOutcome>;
    try {
      claimed = this.store.claim(uniqueId);
    } catch (error) {
      return this.storeFailed(uniqueId, error);
    }
    if (!(claimed instanceof Promise)) return claimed === 'busy' ? this.waitWhileBusy(uniqueId) : admission(claimed);
    return claimed.then(
      (outcome) => (outcome === 'busy' ? this.waitWhileBusy(uniqueId) : admission(outcome)),
      (error: unknown) => this.storeFailed(uniqueId, error),
    );
  }

  /** The handler of an admitted copy settled. */
  settled(uniqueId: string): void {
    try {
      this.store.settle(uniqueId);
    } catch (error) {
      this.logger.warn({ err: error, uniqueId }, 'could not mark a message handled in the duplicate store');
    }
  }

  /** Copies waiting for another server (and those that would) go back to the queue. */
  stopWaiting(): void {
    this.closed = true;
  }

  /** Stops waiting and closes the store (after the running handlers settled). */
  async close(): Promise<void> {
    this.closed = true;
    await this.store.close?.();
  }

  private async waitWhileBusy(uniqueId: string): Promise<Admission> {
    for (;;) {
      if (this.closed) return 'requeue';
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
      if (this.closed) return 'requeue';
      let outcome: ClaimOutcome;
      try {
        outcome = await this.store.claim(uniqueId);
      } catch (error) {
        return this.storeFailed(uniqueId, error);
      }
      if (outcome !== 'busy') return admission(outcome);
    }
  }

  private storeFailed(uniqueId: string, error: unknown): Admission {
    if (Date.now() - this.warnedAt > 10_000) {
      this.warnedAt = Date.now();
      this.logger.warn({ err: error }, 'duplicate store unavailable: deduplicating in this server only until it is back');
    }
    return admission(this.fallback.claim(uniqueId));
  }
}

function admission(outcome: 'first' | 'duplicate'): Admission {
  return outcome === 'first' ? 'run' : 'duplicate';
}
