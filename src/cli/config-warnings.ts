/**
 * What is odd, but not wrong, about a configuration's sources: `NOVARPC_*` variables that
 * are no option, INI keys that look like a misspelt option (both name the closest real
 * one), and the options of a stock nova.conf that novarpc reads but does not use.
 */
import { KNOWN_UNUSED } from './oslo-options.js';
import { envName, OPTIONS } from './options.js';

/** `NOVARPC_*` variables that belong to the tests, the benchmarks and the client commands, not to the service options. */
const OTHER_VARIABLES = [/^NOVARPC_TEST_/, /^NOVARPC_BENCH_/, /^NOVARPC_ENDPOINT$/, /^NOVARPC_TOKEN$/];

/** One warning per `NOVARPC_*` variable that is not an option, naming the closest real one. */
export function unknownEnvWarnings(env: Record<string, string | undefined>): string[] {
  const known = new Set(OPTIONS.filter((option) => !option.iniOnly).flatMap((option) => [envName(option), ...(option.envAliases ?? [])]));
  return Object.keys(env)
    .filter((name) => name.startsWith('NOVARPC_') && !known.has(name) && !OTHER_VARIABLES.some((pattern) => pattern.test(name)))
    .sort()
    .map((name) => `environment variable ${name} is not a novarpc option and is ignored; did you mean ${closest(name, [...known])}?`);
}

/**
 * Warnings for the INI keys no option took: a key close to a real option of its section
 * is a warning of its own ("did you mean"); the rest (Nova's and oslo's other options,
 * sections novarpc has no use for) is one line.
 */
export function iniWarnings(source: string, unmatched: ReadonlyArray<{ section: string; key: string }>): string[] {
  const warnings: string[] = [];
  const unused: string[] = [];
  const read = new Set(OPTIONS.flatMap((option) => [option.section, ...(option.alsoIn ?? []).map((place) => place.section)]));
  for (const { section, key } of unmatched) {
    if (!read.has(section)) {
      if (!unused.includes(`[${section}]`)) unused.push(`[${section}]`);
      continue;
    }
    const candidates = OPTIONS.flatMap((option) => [
      ...(option.section === section ? [option.key, ...(option.aliases ?? [])] : []),
      ...(option.alsoIn ?? []).filter((place) => place.section === section).map((place) => place.key),
    ]);
    const near = KNOWN_UNUSED[section]?.includes(key) ? undefined : closest(key, candidates);
    if (near !== undefined && distance(key, near) <= typoBound(key)) {
      warnings.push(`${source}: [${section}] ${key} is not a novarpc option and is ignored; did you mean ${near}?`);
    } else unused.push(`[${section}] ${key}`);
  }
  if (unused.length > 0) warnings.push(`${source}: read, not used by novarpc: ${unused.join(', ')}`);
  return warnings;
}

/** Edits within which a key counts as a misspelling of another. */
function typoBound(key: string): number {
  return Math.max(1, Math.floor(key.length / 6));
}

/** The candidate with the smallest edit distance to `name`. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Levenshtein distance. */
export function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
