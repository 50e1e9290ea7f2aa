/**
 * The fake hypervisor (Nova's `fake.FakeDriver`): keeps servers in a map, takes
 * `spawn_time` for each operation, and fails when told to:
 * - every spawn on this host with `[fake_driver] fail_spawn = true`;
 * - a server whose metadata has `fake_driver:fail_on` listing this host
 *   (comma-separated, `*` for every host), to exercise rescheduling.
 * Each server has a console log the driver writes as a real console shows a boot
 * (kernel, cloud-init with the authorized key's fingerprint, login prompt), and an
 * administrator password (set at rebuild or by set_admin_password, as a guest agent
 * would) that a login on the guest checks; only a salted hash of it is kept.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Metadata } from '../../db/index.js';
import type { FakeDriverConfig } from '../config.js';
import { PowerState } from '../states.js';
import { bootLines, diagnosticsOf, shutdownLines, type BootInfo, type DriverDiagnostics } from './fake-console.js';

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

/** What the driver keeps of one server. */
interface FakeServer {
  powerState: number;
  imageRef: string | null;
  boot: BootInfo;
  /** The console log, oldest line first. */
  console: string[];
  startedAt: number;
  /** Salted hash of the administrator password, when one was set. */
  adminPassword?: PasswordHash;
}

/** A salted SHA-256 of a password. */
interface PasswordHash {
  salt: Buffer;
  hash: Buffer;
}

function hashPassword(password: string, salt: Buffer = randomBytes(16)): PasswordHash {
  return { salt, hash: createHash('sha256').update(salt).update(password, 'utf8').digest() };
}

/** The console line a guest agent writes when it sets the password (never the password). */
export const PASSWORD_SET_LINE = 'guest-agent: administrator password set';

/** Lines of console log kept per server, like a bounded console.log file. */
const CONSOLE_LINES = 1000;

/** The metadata key that makes a spawn fail on some hosts. */
export const FAIL_ON_METADATA_KEY = 'fake_driver:fail_on';

/** An in-memory hypervisor. */
export class FakeDriver {
  private readonly servers = new Map<string, FakeServer>();

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

  /** Uuids of the servers the hypervisor holds. */
  uuids(): string[] {
    return [...this.servers.keys()];
  }

  /** Number of servers the hypervisor runs. */
  get count(): number {
    return this.servers.size;
  }

  async spawn(uuid: string, imageRef: string | null, metadata: Metadata, boot: BootInfo = {}): Promise<void> {
    await this.work();
    const failOn = (metadata[FAIL_ON_METADATA_KEY] ?? '').split(',').map((host) => host.trim());
    if (this.config.failSpawn || failOn.includes(this.host) || failOn.includes('*')) {
      throw new SpawnError(`Fake driver was told to fail spawning ${uuid} on host ${this.host}`);
    }
    this.servers.set(uuid, { powerState: PowerState.RUNNING, imageRef, boot, console: bootLines(boot), startedAt: Date.now() });
  }

  /** The server's console log, the last `tailLength` lines when given; empty for an unknown server. */
  consoleOutput(uuid: string, tailLength?: number | null): string {
    const lines = this.servers.get(uuid)?.console ?? [];
    const shown = tailLength === undefined || tailLength === null || tailLength < 0 ? lines : tailLength === 0 ? [] : lines.slice(-tailLength);
    return shown.map((line) => `${line}\n`).join('');
  }

  /** What the hypervisor knows of a server's use, or undefined when it does not run here. */
  diagnostics(uuid: string): DriverDiagnostics | undefined {
    const server = this.servers.get(uuid);
    return server && diagnosticsOf(uuid, server.powerState, server.startedAt);
  }

  async destroy(uuid: string): Promise<void> {
    this.servers.delete(uuid);
  }

  async reboot(uuid: string): Promise<number> {
    await this.work();
    this.log(uuid, [...shutdownLines(), ...bootLines(this.servers.get(uuid)?.boot ?? {})]);
    return this.setPower(uuid, PowerState.RUNNING);
  }

  async powerOff(uuid: string): Promise<number> {
    await this.work();
    this.log(uuid, shutdownLines());
    return this.setPower(uuid, PowerState.SHUTDOWN);
  }

  async powerOn(uuid: string): Promise<number> {
    await this.work();
    this.log(uuid, bootLines(this.servers.get(uuid)?.boot ?? {}));
    return this.setPower(uuid, PowerState.RUNNING);
  }

  /** Re-creates the guest from `imageRef`; `adminPassword`, when given, is the new guest's. */
  async rebuild(uuid: string, imageRef: string, options: { boot?: BootInfo; adminPassword?: string | null } = {}): Promise<void> {
    await this.work();
    const known = options.boot ?? this.servers.get(uuid)?.boot ?? {};
    this.servers.set(uuid, { powerState: PowerState.RUNNING, imageRef, boot: known, console: bootLines(known), startedAt: Date.now() });
    if (options.adminPassword) this.storePassword(uuid, options.adminPassword);
  }

  /** The image the guest runs, or undefined when it does not run here. */
  imageOf(uuid: string): string | null | undefined {
    return this.servers.get(uuid)?.imageRef;
  }

  /** Whether a login on the guest as its administrator with `password` succeeds. */
  acceptsAdminPassword(uuid: string, password: string): boolean {
    const stored = this.servers.get(uuid)?.adminPassword;
    return stored !== undefined && timingSafeEqual(stored.hash, hashPassword(password, stored.salt).hash);
  }

  /** The console log of a server, line by line (what a live migration carries along). */
  consoleLines(uuid: string): string[] {
    return [...(this.servers.get(uuid)?.console ?? [])];
  }

  /** Takes over a running server that was live-migrated here, with its console log so far. */
  adopt(uuid: string, imageRef: string | null, boot: BootInfo, console: readonly string[]): void {
    this.servers.set(uuid, { powerState: PowerState.RUNNING, imageRef, boot, console: [...console, 'migration: resumed on the destination host'], startedAt: Date.now() });
  }

  /** Resizing just takes time. */
  async migrateDisk(): Promise<void> {
    await this.work();
  }

  /** Copies the guest's disk out; returns the image's size in bytes (its root disk). */
  async snapshot(uuid: string, rootGb: number): Promise<number> {
    await this.work();
    if (!this.servers.has(uuid)) throw new Error(`Instance ${uuid} is not running on host ${this.host}`);
    return rootGb * 1024 ** 3;
  }

  /** Sets the guest's administrator password (as a guest agent does). */
  async setAdminPassword(uuid: string, password: string): Promise<void> {
    await this.work();
    if (!this.servers.has(uuid)) throw new Error(`Instance ${uuid} is not running on host ${this.host}`);
    this.storePassword(uuid, password);
  }

  private storePassword(uuid: string, password: string): void {
    const server = this.servers.get(uuid);
    if (!server) return;
    server.adminPassword = hashPassword(password);
    this.log(uuid, [PASSWORD_SET_LINE]);
  }

  private setPower(uuid: string, powerState: number): number {
    const server = this.servers.get(uuid) ?? { powerState, imageRef: null, boot: {}, console: [], startedAt: Date.now() };
    this.servers.set(uuid, { ...server, powerState, ...(powerState === PowerState.RUNNING ? { startedAt: Date.now() } : {}) });
    return powerState;
  }

  private log(uuid: string, lines: readonly string[]): void {
    const server = this.servers.get(uuid);
    if (!server) return;
    server.console.push(...lines);
    if (server.console.length > CONSOLE_LINES) server.console.splice(0, server.console.length - CONSOLE_LINES);
  }

  private async work(): Promise<void> {
    if (this.config.spawnTimeMs > 0) await new Promise((resolve) => setTimeout(resolve, this.config.spawnTimeMs));
  }
}
