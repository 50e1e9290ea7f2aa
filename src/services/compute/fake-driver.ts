/**
 * The fake hypervisor (Nova's `fake.FakeDriver`): keeps servers in a map, takes
 * `spawn_time` for each operation, and fails when told to:
 * - every spawn on this host with `[fake_driver] fail_spawn = true`;
 * - a server whose metadata has `fake_driver:fail_on` listing this host
 *   (comma-separated, `*` for every host), to exercise rescheduling.
 */
import type { Metadata } from '../../db/index.js';
import type { FakeDriverConfig } from '../config.js';
import { PowerState } from '../states.js';

/** Raised by the driver when a spawn fails; the compute reschedules the build. */
export class SpawnError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpawnError';
  }
}

/** What the hypervisor offers, reported to compute_nodes. */
export interface HypervisorCapacity {
  vcpus: number;
  memory_mb: number;
  local_gb: number;
  hypervisor_type: string;
  hypervisor_version: number;
}

/** The metadata key that makes a spawn fail on some hosts. */
export const FAIL_ON_METADATA_KEY = 'fake_driver:fail_on';

/** An in-memory hypervisor. */
export class FakeDriver {
  private readonly servers = new Map<string, { powerState: number; imageRef: string | null }>();

  constructor(
    private readonly config: FakeDriverConfig,
    private readonly host: string,
  ) {}

  capacity(): HypervisorCapacity {
    return {
      vcpus: this.config.vcpus,
      memory_mb: this.config.memoryMb,
      local_gb: this.config.localGb,
      hypervisor_type: 'fake',
      hypervisor_version: 1000,
    };
  }

  /** Number of servers the hypervisor runs. */
  get count(): number {
    return this.servers.size;
  }

  async spawn(uuid: string, imageRef: string | null, metadata: Metadata): Promise<void> {
    await this.work();
    const failOn = (metadata[FAIL_ON_METADATA_KEY] ?? '').split(',').map((host) => host.trim());
    if (this.config.failSpawn || failOn.includes(this.host) || failOn.includes('*')) {
      throw new SpawnError(`Fake driver was told to fail spawning ${uuid} on host ${this.host}`);
    }
    this.servers.set(uuid, { powerState: PowerState.RUNNING, imageRef });
  }

  async destroy(uuid: string): Promise<void> {
    this.servers.delete(uuid);
  }

  async reboot(uuid: string): Promise<number> {
    await this.work();
    return this.setPower(uuid, PowerState.RUNNING);
  }

  async powerOff(uuid: string): Promise<number> {
    await this.work();
    return this.setPower(uuid, PowerState.SHUTDOWN);
  }

  async powerOn(uuid: string): Promise<number> {
    await this.work();
    return this.setPower(uuid, PowerState.RUNNING);
  }

  async rebuild(uuid: string, imageRef: string): Promise<void> {
    await this.work();
    this.servers.set(uuid, { powerState: PowerState.RUNNING, imageRef });
  }

  /** Resizing, snapshotting and setting a password just take time. */
  async migrateDisk(): Promise<void> {
    await this.work();
  }

  async snapshot(): Promise<void> {
    await this.work();
  }

  async setAdminPassword(): Promise<void> {
    await this.work();
  }

  private setPower(uuid: string, powerState: number): number {
    const server = this.servers.get(uuid) ?? { powerState, imageRef: null };
    this.servers.set(uuid, { ...server, powerState });
    return powerState;
  }

  private async work(): Promise<void> {
    if (this.config.spawnTimeMs > 0) await new Promise((resolve) => setTimeout(resolve, this.config.spawnTimeMs));
  }
}
