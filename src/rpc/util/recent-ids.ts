/** The last N ids seen, for duplicate detection (oslo keeps 16 `_unique_id`s). */
export class RecentIds {
  private readonly ids = new Set<string>();
  private readonly order: Array<string | undefined>;
  private next = 0;

  constructor(capacity: number) {
    this.order = new Array<string | undefined>(capacity);
  }

  /** Records `id`; returns false when it was already among the recent ones. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    const evicted = this.order[this.next];
    if (evicted !== undefined) this.ids.delete(evicted);
    this.order[this.next] = id;
    this.next = (this.next + 1) % this.order.length;
    this.ids.add(id);
    return true;
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
