/**
 * The shared duplicate store on MariaDB and SQLite: among racing servers exactly one
 * claims each id; a settled id is a duplicate everywhere; a running one is busy
 * elsewhere until its owner settles it, or taken over once the dead owner's lease
 * expired; the gate waits while busy and requeues waiting copies at close.
 */
import { randomBytes } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { DuplicateGate } from '../../src/rpc/duplicate-store.js';
import { SqlDuplicateStore } from '../../src/rpc/sql-duplicate-store.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch.js';
import { databaseUrl } from '../support/services.js';

const silent = createLogger({ level: 'silent' });
const ids = (count: number) => Array.from({ length: count }, () => randomBytes(16).toString('hex'));

function storeContract(name: string, open: () => Promise<Knex>, close: () => Promise<void>) {
  describe(`SqlDuplicateStore on ${name}`, () => {
    let knex: Knex;
    const stores: SqlDuplicateStore[] = [];
    const store = (options: ConstructorParameters<typeof SqlDuplicateStore>[1] = {}) => {
      const created = new SqlDuplicateStore(knex, { flushMs: 20, ...options });
      stores.push(created);
      return created;
    };

    beforeAll(async () => {
      knex = await open();
    }, 60_000);
    afterAll(async () => {
      await Promise.all(stores.map((created) => created.close()));
      await knex?.destroy();
      await close();
    }, 60_000);

    it('racing servers: each id is first for exactly one of them', async () => {
      const servers = [store(), store(), store()];
      await servers[0]!.prepare();
      const batch = ids(150);
      const outcomes = await Promise.all(servers.flatMap((server) => batch.map(async (id) => ({ id, outcome: await server.claim(id) }))));
      for (const id of batch) {
        const firsts = outcomes.filter((entry) => entry.id === id && entry.outcome === 'first');
        expect(firsts, id).toHaveLength(1);
      }
      expect(outcomes.filter((entry) => entry.outcome === 'first')).toHaveLength(batch.length);
    }, 60_000);

    it('running elsewhere is busy; settled is a duplicate everywhere; the owner sees its own copy as a duplicate', async () => {
      const [a, b] = [store(), store()];
      const [id] = ids(1) as [string];
      expect(await a.claim(id)).toBe('first');
      expect(await b.claim(id)).toBe('busy');
      expect(await a.claim(id)).toBe('duplicate');
      a.settle(id);
      await a.flush();
      expect(await b.claim(id)).toBe('duplicate');
    }, 30_000);

    it("a dead owner's claim is taken over once its lease expired", async () => {
      const dead = store({ leaseSeconds: 0.5 });
      const alive = store();
      const [id] = ids(1) as [string];
      expect(await dead.claim(id)).toBe('first');
      await dead.close(); // stops renewing: as if the process died mid-handler
      expect(await alive.claim(id)).toBe('busy');
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect(await alive.claim(id)).toBe('first');
      expect(await store().claim(id)).toBe('busy');
    }, 30_000);

    it('the gate waits while another server runs the id, then drops the copy', async () => {
      const [owner, other] = [store(), store()];
      const gate = new DuplicateGate(other, silent, 50);
      const [id] = ids(1) as [string];
      expect(await owner.claim(id)).toBe('first');
      const waiting = gate.admit(id);
      let settled = false;
      void Promise.resolve(waiting).then(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(settled, 'still waiting while the owner runs it').toBe(false);
      owner.settle(id);
      await owner.flush();
      expect(await waiting).toBe('duplicate');
    }, 30_000);

    it('a copy still waiting when the server stops goes back to the queue', async () => {
      const [owner, other] = [store(), store()];
      const gate = new DuplicateGate(other, silent, 50);
      const [id] = ids(1) as [string];
      expect(await owner.claim(id)).toBe('first');
      const waiting = gate.admit(id);
      await gate.close();
      expect(await waiting).toBe('requeue');
    }, 30_000);
  });
}

let scratch: ScratchDatabase | undefined;
storeContract(
  'MariaDB',
  async () => {
    scratch = await createScratchDatabase(await databaseUrl(), `nrpc_claims_${randomBytes(4).toString('hex')}`);
    return knexFactory({ client: 'mysql2', connection: scratch.url.replace(/^mariadb:/, 'mysql:'), pool: { min: 0, max: 10 } });
  },
  async () => scratch?.drop(),
);

storeContract(
  'SQLite',
  async () => knexFactory({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true, pool: { min: 1, max: 1 } }),
  async () => {},
);

describe('DuplicateGate', () => {
  it('falls back to the server-local window while the store fails, and says so', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', destination: { write: (line: string) => lines.push(line) } as never });
    const gate = new DuplicateGate({ claim: async () => Promise.reject(new Error('db down')), settle: () => {} }, logger);
    expect(await gate.admit('a')).toBe('run');
    expect(await gate.admit('a')).toBe('duplicate');
    expect(lines.join('')).toMatch(/duplicate store unavailable/);
  });
});
