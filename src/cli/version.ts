/**
 * The package's own version, read from its package.json at run time (never copied into
 * the source), so `novarpc --version` always says what is installed.
 */
import { readFileSync } from 'node:fs';

/** `version` of the package.json two levels above this module (src/cli or dist/cli). */
export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  if (typeof manifest.version !== 'string') throw new Error('package.json has no version');
  return manifest.version;
}
