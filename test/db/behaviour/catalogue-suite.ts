/** Flavors and images: seeded by the migrations, listable, with image metadata CRUD. */
import { describe, expect, it } from 'vitest';
import { adminContext, ForbiddenError, SEEDED_FLAVORS, SEEDED_IMAGES } from '../../../src/db/index.js';
import { projectContext, uniqueName, type DbFixture } from './fixture.js';

export function catalogueSuite(fixture: DbFixture): void {
  describe('flavors', () => {
    it("are seeded with Nova's classic m1.tiny..m1.xlarge, ids 1..5", async () => {
      const flavors = await fixture.db.flavors.list(projectContext('any'));
      expect(flavors.map((f) => [f.id, f.name, f.memory_mb, f.vcpus, f.root_gb])).toEqual([
        [1, 'm1.tiny', 512, 1, 1],
        [2, 'm1.small', 2048, 1, 20],
        [3, 'm1.medium', 4096, 2, 40],
        [4, 'm1.large', 8192, 4, 80],
        [5, 'm1.xlarge', 16384, 8, 160],
      ]);
      expect(flavors.every((f) => f.is_public === true && f.disabled === false)).toBe(true);
    });

    it('are found by id, flavorid and name, and filtered by minimum size', async () => {
      const { db } = fixture;
      const ctx = projectContext('any');
      expect((await db.flavors.get(ctx, 3)).name).toBe('m1.medium');
      expect((await db.flavors.getByFlavorId(ctx, '2')).name).toBe('m1.small');
      expect((await db.flavors.getByName(ctx, 'm1.xlarge')).id).toBe(5);
      expect((await db.flavors.list(ctx, { min_memory_mb: 4096 })).map((f) => f.name)).toEqual([
        'm1.medium',
        'm1.large',
        'm1.xlarge',
      ]);
      await expect(db.flavors.get(ctx, 99)).rejects.toMatchObject({ code: 'FlavorNotFound' });
      expect(SEEDED_FLAVORS).toHaveLength(5);
    });
  });

  describe('images', () => {
    it('are seeded (cirros and ubuntu, public, with properties) and visible to every project', async () => {
      const { db } = fixture;
      const ctx = projectContext(uniqueName('p'));
      const seeded = (await db.images.list(ctx)).filter((image) => image.owner === null);
      expect(seeded.map((image) => image.uuid).sort()).toEqual(SEEDED_IMAGES.map((image) => image.uuid).sort());
      const cirros = await db.images.get(ctx, SEEDED_IMAGES[0].uuid);
      expect(cirros).toMatchObject({ name: 'cirros-0.6.2-x86_64-disk', status: 'active', is_public: true });
      expect(await db.images.getMetadata(ctx, cirros.uuid)).toMatchObject({ os_distro: 'cirros', architecture: 'x86_64' });
    });

    it("of a project are private to it, and only their owner changes their metadata", async () => {
      const { db } = fixture;
      const owner = projectContext(uniqueName('owner'));
      const stranger = projectContext(uniqueName('stranger'));
      const snapshot = await db.images.create(owner, { name: 'snap-1', disk_format: 'qcow2' });
      expect(snapshot).toMatchObject({ owner: owner.projectId, is_public: false, status: 'active' });
      await expect(db.images.get(stranger, snapshot.uuid)).rejects.toMatchObject({ code: 'ImageNotFound' });
      expect((await db.images.list(stranger)).map((i) => i.uuid)).not.toContain(snapshot.uuid);

      expect(await db.images.updateMetadata(owner, snapshot.uuid, { os_distro: 'fedora', hw_qemu_guest_agent: 'yes' })).toEqual({
        os_distro: 'fedora',
        hw_qemu_guest_agent: 'yes',
      });
      expect(await db.images.updateMetadata(owner, snapshot.uuid, { os_distro: 'centos' }, { replace: true })).toEqual({
        os_distro: 'centos',
      });
      await db.images.deleteMetadataKey(owner, snapshot.uuid, 'os_distro');
      expect(await db.images.getMetadata(owner, snapshot.uuid)).toEqual({});
      await expect(db.images.deleteMetadataKey(owner, snapshot.uuid, 'os_distro')).rejects.toMatchObject({
        code: 'ImageMetadataNotFound',
      });

      const publicImage = SEEDED_IMAGES[1].uuid;
      await expect(db.images.updateMetadata(stranger, publicImage, { os_distro: 'evil' })).rejects.toBeInstanceOf(ForbiddenError);
      const adminChange = await db.images.updateMetadata(adminContext(), publicImage, { hw_rng_model: 'virtio' });
      expect(adminChange).toMatchObject({ os_distro: 'ubuntu', hw_rng_model: 'virtio' });
    });
  });
}
