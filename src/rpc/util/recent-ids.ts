/**
 * The last N ids seen, for duplicate detection (oslo keeps 16 `_unique_id`s; a server
 * here keeps `duplicateWindow`, default 1024).
 */
export class RecentIds {
  /** id → its slot in `order`, so a forgotten and re-added id is not evicted by its old slot. */
  private readonly ids = new Map<string, number>();
  private readonly order: Array<string | undefined>;
  private next = 0;

  constructor(capacity: number) {
    this.order = new Array<string | undefined>(Math.max(1, capacity));
  }

  /** Records `id`; returns false when it was already among the recent ones. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    const slot = this.next;
    const evicted = this.order[slot];
    if (evicted !== undefined && this.ids.get(evicted) === slot) this.ids.delete(evicted);
    this.order[slot] = id;
    this.next = (slot + 1) % this.order.length;
    this.ids.set(id, slot);
    return true;
  }

  /** Forgets `id`, so its next arrival is not a duplicate (a message requeued on purpose). */
  forget(id: string): void {
    this.ids.delete(id);
  }
}

/** Counts how often ids were seen, for the last N ids (redelivery counting). */
export class RecentCounts {
  private readonly counts = new Map<string, number>();

  constructor(private readonly capacity: number) {}

  /** Increments and returns the count for `id`. */
  increment(id: string): number {
    const count = (this.counts.get(id) ?? 0) + 1;
    this.counts.delete(id);
    this.counts.set(id, count);
    if (this.counts.size > this.capacity) this.counts.delete(this.counts.keys().next().value as string);
    return count;
  }
}
