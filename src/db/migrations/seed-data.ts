/**
 * The rows the migrations seed: Nova's classic flavors, a small image catalogue and the
 * default private network. Kept as data so tests can compare against it.
 */

/** Nova's classic flavors, with their historical ids and flavorids 1..5. */
export const SEEDED_FLAVORS = [
  { id: 1, name: 'm1.tiny', flavorid: '1', memory_mb: 512, vcpus: 1, root_gb: 1, ephemeral_gb: 0, swap: 0 },
  { id: 2, name: 'm1.small', flavorid: '2', memory_mb: 2048, vcpus: 1, root_gb: 20, ephemeral_gb: 0, swap: 0 },
  { id: 3, name: 'm1.medium', flavorid: '3', memory_mb: 4096, vcpus: 2, root_gb: 40, ephemeral_gb: 0, swap: 0 },
  { id: 4, name: 'm1.large', flavorid: '4', memory_mb: 8192, vcpus: 4, root_gb: 80, ephemeral_gb: 0, swap: 0 },
  { id: 5, name: 'm1.xlarge', flavorid: '5', memory_mb: 16384, vcpus: 8, root_gb: 160, ephemeral_gb: 0, swap: 0 },
] as const;

/** The seeded image catalogue: public images every project can boot. */
export const SEEDED_IMAGES = [
  {
    id: 1,
    uuid: '928e2889-6359-40ef-b44c-0aa0b7394be1',
    name: 'cirros-0.6.2-x86_64-disk',
    disk_format: 'qcow2',
    container_format: 'bare',
    size: 21_430_272,
    min_disk: 1,
    min_ram: 0,
    metadata: { architecture: 'x86_64', os_distro: 'cirros', os_version: '0.6.2', hw_disk_bus: 'virtio' },
  },
  {
    id: 2,
    uuid: 'aaa66cd3-3af4-4f09-ade9-19829571744c',
    name: 'ubuntu-22.04-server-cloudimg-amd64',
    disk_format: 'qcow2',
    container_format: 'bare',
    size: 667_287_552,
    min_disk: 3,
    min_ram: 512,
    metadata: { architecture: 'x86_64', os_distro: 'ubuntu', os_version: '22.04', hw_disk_bus: 'virtio' },
  },
] as const;

/** The default flat network, like `nova-manage network create private 10.0.0.0/24`. */
export const SEEDED_NETWORK = {
  id: 1,
  uuid: '1117193a-a900-4507-8354-ca97e16287ba',
  label: 'private',
  cidr: '10.0.0.0/24',
  bridge: 'br100',
} as const;

/** The floating IP pool, like `nova-manage floating create --pool public 172.24.4.0/24`. */
export const SEEDED_FLOATING_POOL = { name: 'public', cidr: '172.24.4.0/24' } as const;
