/**
 * Cheap metric instruments on a prom-client Registry. prom-client hashes the label set
 * on every `inc`/`observe` (microseconds each); here a label set is resolved once into
 * a child that the hot path bumps with a plain addition, and the registry reads the
 * children when it is scraped. The families are prom-client Counter/Histogram/Gauge
 * subclasses, so `registry.metrics()`, `getSingleMetric` and `getMetricsAsJSON` work as
 * usual. Label values follow Python's `str()` (oslo.metrics is Python): `None`,
 * `True`, `False`; histogram `le` bounds are rendered as Python does (`1.0`, `+Inf`).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { InvalidConfiguration } from '../errors.js';

/** Most label sets per family; beyond it every new set shares one `overflow` series. */
export const MAX_SERIES_PER_FAMILY = 2000;

/** A label value as Python's `str()` renders it. */
export function labelValue(value: unknown): string {
  if (value === undefined || value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  return String(value);
}

type Labels = Record<string, string>;

/** One counter series. */
export class CounterChild {
  value = 0;
  constructor(readonly labels: Labels) {}
  inc(amount = 1): void {
    this.value += amount;
  }
}

/** One histogram series: cumulative counts are computed at scrape time. */
export class HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }
  observe(value: number): void {
    this.sum += value;
    this.count += 1;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]! += 1;
        return;
      }
    }
  }
}

/** Children by label values, bounded. */
class Children<T extends { labels: Labels }> {
  private readonly byKey = new Map<string, T>();
  private overflow: T | undefined;

  constructor(
    private readonly labelNames: readonly string[],
    private readonly make: (labels: Labels) => T,
  ) {}

  get(values: readonly string[]): T {
    const key = values.join('\u0001');
    let child = this.byKey.get(key);
    if (child !== undefined) return child;
    if (this.byKey.size >= MAX_SERIES_PER_FAMILY) {
      this.overflow ??= this.make(Object.fromEntries(this.labelNames.map((name) => [name, 'overflow'])));
      return this.overflow;
    }
    child = this.make(Object.fromEntries(this.labelNames.map((name, i) => [name, values[i] ?? 'None'])));
    this.byKey.set(key, child);
    return child;
  }

  all(): T[] {
    const all = [...this.byKey.values()];
    if (this.overflow) all.push(this.overflow);
    return all;
  }
}

interface FamilySpec {
  name: string;
  help: string;
  labelNames: readonly string[];
}

/** A counter family whose children are plain numbers. */
export class FastCounter extends Counter<string> {
  private readonly children: Children<CounterChild>;

  constructor(
    private readonly spec: FamilySpec,
    registry: Registry,
  ) {
    super({ name: spec.name, help: spec.help, labelNames: [...spec.labelNames], registers: [registry] });
    this.children = new Children(spec.labelNames, (labels) => new CounterChild(labels));
  }

  /** The series for these label values (in `labelNames` order); resolve once, bump often. */
  child(values: readonly string[]): CounterChild {
    return this.children.get(values);
  }

  override async get() {
    const values = this.children.all().map((child) => ({ labels: { ...child.labels }, value: child.value }));
    return snapshot<Counter<string>>(this.spec, 'counter', values);
  }

  /** prom-client's registry prefers this to get(). */
  async getForPromString() {
    return this.get();
  }
}

/** A histogram family whose children count buckets in typed arrays. */
export class FastHistogram extends Histogram<string> {
  private readonly children: Children<HistogramChild>;
  private readonly bounds: readonly number[];

  constructor(
    private readonly spec: FamilySpec & { buckets: readonly number[] },
    registry: Registry,
  ) {
    super({ name: spec.name, help: spec.help, labelNames: [...spec.labelNames], buckets: [...spec.buckets], registers: [registry] });
    this.bounds = [...spec.buckets];
    this.children = new Children(spec.labelNames, (labels) => new HistogramChild(labels, this.bounds));
  }

  child(values: readonly string[]): HistogramChild {
    return this.children.get(values);
  }

  override async get() {
    const name = this.spec.name;
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    for (const child of this.children.all()) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += child.counts[i]!;
        values.push({ labels: { ...child.labels, le: goFloat(bound) }, value: cumulative, metricName: `${name}_bucket` });
      });
      values.push({ labels: { ...child.labels, le: '+Inf' }, value: child.count, metricName: `${name}_bucket` });
      values.push({ labels: { ...child.labels }, value: child.sum, metricName: `${name}_sum` });
      values.push({ labels: { ...child.labels }, value: child.count, metricName: `${name}_count` });
    }
    return snapshot<Histogram<string>>(this.spec, 'histogram', values);
  }

  async getForPromString() {
    return this.get();
  }
}

/** What a gauge source reports: one value per label set (label values in `labelNames` order). */
export type GaugeSource = () => ReadonlyArray<readonly [readonly string[], number]>;

/**
 * A gauge read at scrape time from live sources (a pool's size, handlers running). Several
 * transports sharing a registry each add a source; their values are summed per label set.
 */
export class SourcedGauge extends Gauge<string> {
  private readonly sources = new Set<GaugeSource>();

  constructor(spec: FamilySpec, registry: Registry) {
    super({
      name: spec.name,
      help: spec.help,
      labelNames: [...spec.labelNames],
      registers: [registry],
      collect: () => this.readSources(spec.labelNames),
    });
  }

  /** Adds a source; returns its removal. */
  addSource(source: GaugeSource): () => void {
    this.sources.add(source);
    return () => this.sources.delete(source);
  }

  private readSources(labelNames: readonly string[]): void {
    this.reset();
    const totals = new Map<string, { labels: Labels; value: number }>();
    for (const source of this.sources) {
      for (const [values, value] of source()) {
        const key = values.join('\u0001');
        const entry = totals.get(key) ?? { labels: Object.fromEntries(labelNames.map((name, i) => [name, values[i] ?? ''])), value: 0 };
        entry.value += value;
        totals.set(key, entry);
      }
    }
    for (const { labels, value } of totals.values()) this.set(labels, value);
  }
}

/** What prom-client's registry reads from a metric at scrape time. */
function snapshot<M extends { get(): Promise<unknown> }>(spec: FamilySpec, type: string, values: unknown[]): Awaited<ReturnType<M['get']>> {
  return { name: spec.name, help: spec.help, type, values, aggregator: 'sum', collect: () => {} } as Awaited<ReturnType<M['get']>>;
}

/** The family registered under `name`, or a new one; several transports may share a registry. */
export function family<T>(registry: Registry, name: string, kind: abstract new (...args: never[]) => T, create: () => T): T {
  const existing = registry.getSingleMetric(name);
  if (existing === undefined) return create();
  if (!(existing instanceof kind)) throw new InvalidConfiguration(`metric ${name} is already registered in this prom-client registry with another type`);
  return existing as T;
}

/** A bucket bound as Python (and Go) print floats: `1.0`, `0.025`. */
function goFloat(bound: number): string {
  return Number.isInteger(bound) ? `${bound}.0` : String(bound);
}
