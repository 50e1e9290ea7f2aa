/**
 * Turns what the drivers return into plain rows that look the same on every engine:
 * mysql2 gives DATETIME as Date and BOOLEAN as 0/1; better-sqlite3 stores a bound Date as
 * epoch milliseconds and a boolean as 0/1. Rows leave the db layer with Date and boolean.
 */

/** Which columns of a table hold timestamps and which hold booleans. */
export interface ColumnKinds {
  dates?: readonly string[];
  booleans?: readonly string[];
}

/** Every table has these timestamp columns. */
export const TIMESTAMP_COLUMNS = ['created_at', 'updated_at', 'deleted_at'] as const;

/** Returns a function that normalises one raw row of a table into `T`. */
export function rowReader<T>(kinds: ColumnKinds): (raw: unknown) => T {
  const dates = [...TIMESTAMP_COLUMNS, ...(kinds.dates ?? [])];
  const booleans = kinds.booleans ?? [];
  return (raw) => {
    const row = { ...(raw as Record<string, unknown>) };
    for (const column of dates) if (column in row) row[column] = toDate(row[column]);
    for (const column of booleans) if (column in row) row[column] = toBoolean(row[column]);
    return row as T;
  };
}

/** A driver value as a Date, or null. */
export function toDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value;
  if (typeof value === 'number' || typeof value === 'bigint') return new Date(Number(value));
  if (typeof value === 'string') {
    const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value.replace(' ', 'T')}Z`;
    return new Date(iso);
  }
  throw new TypeError(`Not a timestamp: ${String(value)}`);
}

/** A driver value (0/1, true/false, '0'/'1') as a boolean. */
export function toBoolean(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 1n;
}

/**
 * The current time at millisecond precision, as stored. Timestamps are kept in UTC
 * (mysql2 is configured with timezone 'Z').
 */
export function utcNow(): Date {
  return new Date();
}

/** Number of rows an UPDATE or DELETE changed, from what knex returns on either engine. */
export function affectedRows(result: unknown): number {
  if (typeof result === 'number') return result;
  if (Array.isArray(result)) return result.length;
  return 0;
}

/** Escapes `%`, `_` and `\` so a user string matches literally inside LIKE. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
