import { describe, expect, it } from 'vitest';
import { UuidSource } from '../../src/rpc/util/uuid-source.js';

describe('UuidSource', () => {
  it('gives uuid4 hex ids as oslo writes them: 32 hex digits, version 4, RFC 4122 variant', () => {
    const ids = new UuidSource();
    for (let i = 0; i < 600; i++) {
      const id = ids.next();
      expect(id).toMatch(/^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
    }
  });

  it('never repeats an id, across refills of its random pool and across sources', () => {
    const seen = new Set<string>();
    for (const ids of [new UuidSource(), new UuidSource()]) {
      for (let i = 0; i < 5000; i++) seen.add(ids.next());
    }
    expect(seen.size).toBe(10_000);
  });
});
