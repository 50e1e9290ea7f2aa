/** Networks and fixed IPs: atomic allocation under concurrency, exhaustion, release. */
import { describe, expect, it } from 'vitest';
import { adminContext, NoMoreFixedIpsError, SEEDED_NETWORK } from '../../../src/db/index.js';
import { projectContext, uniqueName, type DbFixture } from './fixture.js';

export function networkSuite(fixture: DbFixture): void {
  const ctx = adminContext({ requestId: 'req-network' });

  describe('networks', () => {
    it('include the seeded private 10.0.0.0/24 with .2 to .254 as fixed IPs', async () => {
      const { db } = fixture;
      const network = await db.networks.getByLabel(ctx, 'private');
      expect(network).toMatchObject({ id: SEEDED_NETWORK.id, cidr: '10.0.0.0/24', gateway: '10.0.0.1', broadcast: '10.0.0.255' });
      const addresses: Array<{ address: string }> = await db.knex('fixed_ips').where('network_id', network.id).select('address');
      const all = addresses.map((row) => row.address);
      expect(all).toHaveLength(253);
      expect(all).toContain('10.0.0.2');
      expect(all).toContain('10.0.0.254');
      expect(all).not.toContain('10.0.0.0');
      expect(all).not.toContain('10.0.0.1');
      expect(all).not.toContain('10.0.0.255');
    });
  });

  describe('fixed IPs', () => {
    it('go to 50 concurrent allocations as 50 distinct addresses, then run out cleanly, and come back on release', async () => {
      const { db } = fixture;
      const owner = projectContext(uniqueName('p'));
      const network = await db.networks.create(ctx, { label: uniqueName('net'), cidr: '10.42.0.0/26' });
      expect(network).toMatchObject({ gateway: '10.42.0.1', broadcast: '10.42.0.63', netmask: '255.255.255.192' });
      expect(await db.fixedIps.countFree(ctx, network.id)).toBe(61);

      const instances = await Promise.all(Array.from({ length: 61 }, (_, i) => db.instances.create(owner, { display_name: `vm-${i}` })));
      const allocate = (uuid: string) => db.fixedIps.allocate(ctx, { instance_uuid: uuid, network_id: network.id, host: 'net1' });

      const concurrent = await Promise.all(instances.slice(0, 50).map((instance) => allocate(instance.uuid)));
      const addresses = concurrent.map((ip) => ip.address);
      expect(new Set(addresses).size).toBe(50);
      expect(concurrent.every((ip, i) => ip.instance_uuid === instances[i]!.uuid && ip.allocated)).toBe(true);

      const rest = await Promise.all(instances.slice(50).map((instance) => allocate(instance.uuid)));
      expect(new Set([...addresses, ...rest.map((ip) => ip.address)]).size).toBe(61);
      expect(await db.fixedIps.countFree(ctx, network.id)).toBe(0);

      const extra = await db.instances.create(owner, { display_name: 'one-too-many' });
      const exhausted = await allocate(extra.uuid).catch((e: unknown) => e);
      expect(exhausted).toBeInstanceOf(NoMoreFixedIpsError);
      expect(exhausted).toMatchObject({ code: 'NoMoreFixedIps', message: expect.stringContaining(String(network.id)) });

      const freed = instances[7]!;
      const [freedAddress] = await db.fixedIps.listByInstance(ctx, freed.uuid);
      expect(await db.fixedIps.releaseByInstance(ctx, freed.uuid)).toBe(1);
      expect(await db.fixedIps.listByInstance(ctx, freed.uuid)).toEqual([]);
      const reused = await allocate(extra.uuid);
      expect(reused.address).toBe(freedAddress!.address);
      expect((await db.fixedIps.getByAddress(ctx, reused.address)).instance_uuid).toBe(extra.uuid);
    });
  });
}
