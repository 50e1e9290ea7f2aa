/** One measured figure of a benchmark section. */
export interface BenchRow {
  /** What was measured, e.g. "sequential call". */
  name: string;
  /** novarpc's figure. */
  value: number;
  /** Unit of `value`, e.g. "msg/s" or "ms". */
  unit: string;
  /** The baseline's figure measured in the same run, when the section has one. */
  baseline?: number;
  /** value / baseline (for latencies: baseline / value, so higher is better). */
  ratio?: number;
  /** The target ratio or figure from the issue, printed beside the result. */
  target?: string;
}

/** A section of the benchmark report. */
export interface BenchSection {
  title: string;
  rows: BenchRow[];
  /** A table with one row per compared side (sections comparing more than two). */
  table?: { columns: string[]; rows: string[][] };
  /** Free-form facts about the run (sizes, URLs without passwords, notes). */
  notes?: string[];
}
