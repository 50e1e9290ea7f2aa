/** oslo.messaging's API version rules: "X.Y" or "X.Y.Z", compatible within a major. */
import { InvalidVersion } from './errors.js';

interface ParsedVersion {
  major: number;
  minor: number;
  revision: number;
}

/**
 * Parses "X.Y" / "X.Y.Z".
 * @throws {@link InvalidVersion} for anything else.
 */
export function parseVersion(version: string): ParsedVersion {
  const match = /^(\d+)\.(\d+)(?:\.(\d+))?$/.exec(version);
  if (!match) throw new InvalidVersion(`invalid RPC version "${version}": expected "X.Y" or "X.Y.Z"`);
  return { major: Number(match[1]), minor: Number(match[2]), revision: Number(match[3] ?? 0) };
}

/** True when `version` is a well-formed "X.Y" or "X.Y.Z". */
export function isValidVersion(version: unknown): version is string {
  return typeof version === 'string' && /^\d+\.\d+(?:\.\d+)?$/.test(version);
}

/**
 * oslo's `version_is_compatible(implemented, requested)`: same major, requested
 * minor ≤ implemented minor, and on equal minors requested revision ≤ implemented.
 * A null implemented version accepts anything.
 */
export function isCompatible(implemented: string | null | undefined, requested: string): boolean {
  if (implemented == null) return true;
  const have = parseVersion(implemented);
  const want = parseVersion(requested);
  if (have.major !== want.major) return false;
  if (want.minor !== have.minor) return want.minor < have.minor;
  return want.revision <= have.revision;
}
