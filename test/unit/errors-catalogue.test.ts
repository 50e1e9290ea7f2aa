/**
 * docs/errors.md is the catalogue of the framework's error codes: every code an
 * RpcError subclass exported by src/rpc/errors.ts carries has an entry there, and every
 * entry is a code of such a class (with the class named in it).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as errors from '../../src/rpc/errors.js';

const { RpcError } = errors;

/** Each exported RpcError class and the code its instances carry. */
function exportedCodes(): Map<string, string> {
  const codes = new Map<string, string>();
  for (const [name, exported] of Object.entries(errors)) {
    if (typeof exported !== 'function' || !(exported === RpcError || exported.prototype instanceof RpcError)) continue;
    const Class = exported as unknown as new (...args: unknown[]) => InstanceType<typeof RpcError>;
    codes.set(new Class('x', 'y', [], '', [], {}).code, name);
  }
  return codes;
}

const catalogue = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const documented = new Map([...catalogue.matchAll(/^### `([A-Z_]+)`\n\n`(\w+)`/gm)].map((match) => [match[1]!, match[2]!]));

describe('the error catalogue (docs/errors.md)', () => {
  it('lists every code errors.ts exports, under its class', () => {
    const codes = exportedCodes();
    expect(codes.size).toBeGreaterThan(15);
    for (const [code, className] of codes) expect(documented.get(code), `${code} (${className})`).toBe(className);
  });

  it('lists only codes errors.ts exports', () => {
    const codes = exportedCodes();
    for (const code of documented.keys()) expect(codes.has(code), code).toBe(true);
    expect(documented.size).toBe(codes.size);
  });

  it('codes are unique per class', () => {
    const classes = Object.values(errors).filter((value) => typeof value === 'function' && (value === RpcError || value.prototype instanceof RpcError));
    expect(exportedCodes().size).toBe(classes.length);
  });
});
