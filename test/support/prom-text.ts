/**
 * A strict reader of the Prometheus text exposition format (0.0.4), for tests: every
 * sample must belong to a family declared by `# HELP` and `# TYPE`, names and labels
 * must be well-formed, values numbers; histograms must have cumulative buckets ending
 * in `+Inf` equal to `_count`. Throws naming the offending line.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Parses an exposition into families by name. */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  let current: Family | undefined;
  text.split('\n').forEach((line, index) => {
    const where = `line ${index + 1}: ${line}`;
    if (line.trim() === '') return;
    if (line.startsWith('# HELP ')) {
      const [name, ...help] = line.slice(7).split(' ');
      if (!NAME.test(name!)) throw new Error(`bad metric name, ${where}`);
      if (families.has(name!)) throw new Error(`family declared twice, ${where}`);
      current = { name: name!, type: '', help: help.join(' '), samples: [] };
      families.set(name!, current);
      return;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      if (current?.name !== name) throw new Error(`TYPE without its HELP, ${where}`);
      if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type!)) throw new Error(`bad type, ${where}`);
      current.type = type!;
      return;
    }
    if (line.startsWith('#')) return;
    const sample = parseSample(line, where);
    if (!current || !belongsTo(sample.name, current)) throw new Error(`sample outside its family, ${where}`);
    current.samples.push(sample);
  });
  for (const family of families.values()) checkFamily(family);
  return families;
}

/** The samples of `name` (a family's own name, or `<family>_count` etc.) whose labels include `labels`. */
export function samples(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): Sample[] {
  const all = [...families.values()].flatMap((family) => family.samples);
  return all.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
}

/** The sum of the matching samples' values. */
export function total(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  return samples(families, name, labels).reduce((sum, sample) => sum + sample.value, 0);
}

function parseSample(line: string, where: string): Sample {
  const match = /^([^\s{]+)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/.exec(line);
  if (!match) throw new Error(`bad sample, ${where}`);
  const [, name, , body, raw] = match;
  if (!NAME.test(name!)) throw new Error(`bad sample name, ${where}`);
  const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : raw === 'NaN' ? NaN : Number(raw);
  if (Number.isNaN(value) && raw !== 'NaN') throw new Error(`bad value, ${where}`);
  return { name: name!, labels: parseLabels(body ?? '', where), value };
}

function parseLabels(body: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const pattern = /\s*([^=,\s]+)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  let position = 0;
  while (position < body.length) {
    pattern.lastIndex = position;
    const match = pattern.exec(body);
    if (!match) throw new Error(`bad labels, ${where}`);
    const [, key, value] = match;
    if (!LABEL.test(key!)) throw new Error(`bad label name ${key}, ${where}`);
    if (key! in labels) throw new Error(`label ${key} twice, ${where}`);
    labels[key!] = value!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    position = pattern.lastIndex;
  }
  return labels;
}

function belongsTo(sampleName: string, family: Family): boolean {
  if (sampleName === family.name) return family.type !== 'histogram';
  if (family.type === 'histogram') return [`${family.name}_bucket`, `${family.name}_sum`, `${family.name}_count`].includes(sampleName);
  if (family.type === 'summary') return [`${family.name}_sum`, `${family.name}_count`].includes(sampleName);
  return false;
}

function checkFamily(family: Family): void {
  if (!family.type) throw new Error(`family ${family.name} has no TYPE`);
  if (family.type === 'counter' && family.samples.some((sample) => sample.value < 0)) throw new Error(`negative counter in ${family.name}`);
  if (family.type !== 'histogram') return;
  const series = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (sample.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`bucket without le in ${family.name}`);
      entry.buckets.push([le === '+Inf' ? Infinity : Number(le), sample.value]);
    } else if (sample.name.endsWith('_count')) entry.count = sample.value;
  }
  for (const [key, { buckets, count }] of series) {
    const last = buckets.at(-1);
    if (!last || last[0] !== Infinity) throw new Error(`${family.name}${key}: no +Inf bucket`);
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i]![0] > buckets[i - 1]![0]) || buckets[i]![1] < buckets[i - 1]![1]) throw new Error(`${family.name}${key}: buckets not cumulative`);
    }
    if (last[1] !== count) throw new Error(`${family.name}${key}: +Inf bucket ${last[1]} != _count ${count}`);
  }
}
