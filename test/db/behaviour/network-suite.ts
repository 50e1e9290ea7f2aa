/** Networks, fixed IPs and floating IPs: atomic allocation under concurrency, exhaustion, release. */
import { describe, expect, it } from 'vitest';
import { adminContext, NoMoreFixedIpsError, SEEDED_FLOATING_POOL, SEEDED_NETWORK } from '../../../src/db/index.js';
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

  describe('floating IPs', () => {
    it('go to 100 concurrent allocations from the pool as 100 distinct addresses, follow their fixed IP, and come back', async () => {
      const { db } = fixture;
      const project = uniqueName('p');
      const owner = projectContext(project);
      const allocations = await Promise.all(Array.from({ length: 100 }, () => db.floatingIps.allocate(ctx, SEEDED_FLOATING_POOL.name, project)));
      expect(new Set(allocations.map((row) => row.address)).size).toBe(100);
      expect(allocations.every((row) => row.project_id === project && row.pool === 'public')).toBe(true);
      expect(await db.floatingIps.list(owner, project)).toHaveLength(100);
      expect(await db.floatingIps.list(projectContext(uniqueName('other')), project)).toEqual([]);
      await expect(db.floatingIps.allocate(ctx, 'no-such-pool', project)).rejects.toMatchObject({ code: 'FloatingIpPoolNotFound' });

      const instance = await db.instances.create(owner, { display_name: 'with-floating' });
      const fixed = await db.fixedIps.allocate(ctx, { instance_uuid: instance.uuid, host: 'net1' });
      const floating = allocations[0]!;
      await db.floatingIps.associate(owner, floating.address, fixed.id, 'net1');
      await expect(db.floatingIps.associate(owner, floating.address, fixed.id + 1, 'net1')).rejects.toMatchObject({ code: 'InvalidRequest' });
      expect((await db.floatingIps.listByFixedIps(ctx, [fixed.id])).map((row) => row.address)).toEqual([floating.address]);
      // Releasing the server's addresses takes its floating IPs off, keeping them allocated.
      await db.fixedIps.releaseByInstance(ctx, instance.uuid);
      expect(await db.floatingIps.getByAddress(owner, floating.address)).toMatchObject({ fixed_ip_id: null, project_id: project });

      await Promise.all(allocations.map((row) => db.floatingIps.deallocate(owner, row.id)));
      expect(await db.floatingIps.list(owner, project)).toEqual([]);
    });
  });
}
