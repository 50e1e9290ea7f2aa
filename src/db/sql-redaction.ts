/**
 * Hides secret values among the bindings of a SQL statement before it is logged.
 *
 * Bindings are positional, so each `?` is matched with the column it is compared with,
 * assigned to, inserted into or aliased as. A binding is hidden when its column has a
 * secret-looking name (password, admin_pass, auth_token, ...), and the `value` of a
 * key/value row (instance or image metadata) is hidden when its `key` binding has one.
 */

/** What replaces a hidden binding, the same censor the loggers use. */
export const REDACTED = '[redacted]';

const SECRET_NAME = /pass(word|wd)?|auth_?token|secret|credential|private_?key|(^|_)token(_|$)/i;
const COMPARISON = new Set(['=', '<', '>', '<=', '>=', '<>', '!=', '+', '-', 'like']);
const MAX_LOGGED_STRING = 256;

/** True when a column or metadata key name looks like it holds a secret. */
export function isSecretName(name: unknown): boolean {
  return typeof name === 'string' && SECRET_NAME.test(name);
}

/** The bindings as they may be logged: secrets replaced by {@link REDACTED}, long strings cut. */
export function redactBindings(sql: string, bindings: readonly unknown[] | undefined): unknown[] {
  if (!bindings || bindings.length === 0) return [];
  const slots = placeholderSlots(sql);
  const secretKeyGroups = new Set<number>();
  slots.forEach((slot, i) => {
    if (slot.column === 'key' && isSecretName(bindings[i])) secretKeyGroups.add(slot.group);
  });
  return bindings.map((binding, i) => {
    const slot = slots[i];
    if (slot && isSecretName(slot.column)) return REDACTED;
    if (slot?.column === 'value' && secretKeyGroups.has(slot.group)) return REDACTED;
    return shorten(binding);
  });
}

/** The column each `?` of a statement belongs to, and the row (group) it is part of. */
export interface PlaceholderSlot {
  column: string | undefined;
  /** Index of the inserted row (or of the SELECT) the placeholder belongs to. */
  group: number;
}

/** Finds, for every `?` of `sql` in order, the column it belongs to. */
export function placeholderSlots(sql: string): PlaceholderSlot[] {
  const tokens = tokenize(sql);
  const slots: PlaceholderSlot[] = [];
  const insertColumns = readInsertColumns(tokens);
  let group = -1;
  let depth = 0;
  let tupleDepth = -1;
  let tupleIndex = 0;
  let inValues = false;
  const inListColumns: Array<string | undefined> = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const word = token.toLowerCase();
    if (word === 'values' && insertColumns) inValues = true;
    if (word === 'select') group++;
    if (token === '(') {
      depth++;
      inListColumns.push(tokens[i - 1]?.toLowerCase() === 'in' ? identifierBefore(tokens, i - 1) : undefined);
      if (inValues && tupleDepth < 0) {
        tupleDepth = depth;
        tupleIndex = 0;
        group++;
      }
    } else if (token === ')') {
      if (depth === tupleDepth) tupleDepth = -1;
      depth--;
      inListColumns.pop();
    } else if (token === ',' && depth === tupleDepth) {
      tupleIndex++;
    } else if (token === '?') {
      const column =
        tupleDepth > 0 && depth === tupleDepth && insertColumns
          ? insertColumns[tupleIndex % insertColumns.length]
          : columnOfPlaceholder(tokens, i, inListColumns);
      slots.push({ column, group: Math.max(group, 0) });
    }
  }
  return slots;
}

function columnOfPlaceholder(tokens: string[], i: number, inListColumns: Array<string | undefined>): string | undefined {
  const next = tokens[i + 1]?.toLowerCase();
  if (next === 'as' && tokens[i + 2]) return tokens[i + 2];
  const previous = tokens[i - 1]?.toLowerCase();
  if (previous && COMPARISON.has(previous)) return identifierBefore(tokens, i - 1);
  if (previous === 'between') return identifierBefore(tokens, i - 1);
  if (previous === 'and' && tokens[i - 3]?.toLowerCase() === 'between') return identifierBefore(tokens, i - 3);
  if (previous === '(' || previous === ',') return inListColumns[inListColumns.length - 1];
  return undefined;
}

/** The identifier just before position `i` (skipping `not`), without any table prefix. */
function identifierBefore(tokens: string[], i: number): string | undefined {
  let j = i - 1;
  if (tokens[j]?.toLowerCase() === 'not') j--;
  const candidate = tokens[j];
  return candidate && /^[A-Za-z_][\w$]*$/.test(candidate) ? candidate : undefined;
}

/** `insert into t (a, b, c) ...` gives [a, b, c]; anything else gives undefined. */
function readInsertColumns(tokens: string[]): string[] | undefined {
  const insertAt = tokens.findIndex((t) => t.toLowerCase() === 'insert');
  if (insertAt < 0) return undefined;
  const open = tokens.indexOf('(', insertAt);
  const close = tokens.indexOf(')', open);
  if (open < 0 || close < 0) return undefined;
  const columns = tokens.slice(open + 1, close).filter((t) => t !== ',');
  return columns.length > 0 ? columns : undefined;
}

const TOKEN = /\s+|'(?:[^']|'')*'|`((?:[^`]|``)*)`|"((?:[^"]|"")*)"|[A-Za-z_][\w$]*|\d+(?:\.\d+)?|<=|>=|<>|!=|\?|./gy;

/** Splits SQL into words, quoted identifiers (unquoted), `?`, string literals and punctuation. */
function tokenize(sql: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  let match: RegExpExecArray | null;
  while ((match = TOKEN.exec(sql)) !== null) {
    const text = match[0];
    if (/^\s/.test(text)) continue;
    if (text.startsWith("'")) tokens.push('<literal>');
    else tokens.push(match[1] ?? match[2] ?? text);
  }
  return tokens;
}

function shorten(binding: unknown): unknown {
  if (typeof binding === 'string' && binding.length > MAX_LOGGED_STRING) {
    return `${binding.slice(0, MAX_LOGGED_STRING)}… (${binding.length} chars)`;
  }
  if (Buffer.isBuffer(binding)) return `<${binding.length} bytes>`;
  return binding;
}
