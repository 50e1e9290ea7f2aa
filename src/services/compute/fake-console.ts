/**
 * What the fake hypervisor shows of a server: the console lines of a boot and a shutdown
 * (as a cirros guest prints them, with cloud-init listing the authorized key), and the
 * diagnostics a hypervisor reports.
 */
import { createHash } from 'node:crypto';
import { keyFingerprint } from '../ssh-keys.js';

/** What the guest's boot shows. */
export interface BootInfo {
  hostname?: string | null;
  /** Public key injected for the default user, with the key pair's name. */
  keyName?: string | null;
  keyData?: string | null;
  addresses?: readonly string[];
}

/** A hypervisor's view of one server (Nova's driver diagnostics, reduced). */
export interface DriverDiagnostics {
  state: 'running' | 'shutdown';
  uptimeSeconds: number;
  cpuTimeNs: number;
  memoryKb: number;
  diskReadBytes: number;
  diskWriteBytes: number;
  nicRxBytes: number;
  nicTxBytes: number;
}

/** The lines a boot writes to the console. */
export function bootLines(boot: BootInfo): string[] {
  const hostname = boot.hostname || 'cirros';
  const lines = [
    '[    0.000000] Linux version 5.15.0-fake (novarpc fake driver)',
    '[    0.000000] Command line: LABEL=cirros-rootfs ro console=tty1 console=ttyS0',
    '[    0.412000] virtio_blk virtio2: [vda] 2097152 512-byte logical blocks',
    'Starting network: udhcpc: started',
    ...(boot.addresses ?? []).map((address) => `udhcpc: lease of ${address} obtained, lease time 86400`),
    `cloud-init: hostname set to ${hostname}`,
    ...authorizedKeyLines(boot),
    '=== cirros: current=0.6.2 uptime=4.21 ===',
    `${hostname} login: `,
  ];
  return lines;
}

/** The lines a clean shutdown writes. */
export function shutdownLines(): string[] {
  return ['Stopping network... OK', 'reboot: Power down'];
}

function authorizedKeyLines(boot: BootInfo): string[] {
  if (!boot.keyData) return ['ci-info: no authorized SSH keys fingerprints found for user cirros.'];
  let fingerprint: string;
  try {
    fingerprint = keyFingerprint(boot.keyData, 'ssh');
  } catch {
    return ['ci-info: the authorized key could not be read.'];
  }
  const keyType = boot.keyData.trim().split(/\s+/)[0];
  return [
    'ci-info: ++++Authorized keys from /home/cirros/.ssh/authorized_keys for user cirros++++',
    'ci-info: | Keytype | Fingerprint (md5) | Options | Comment |',
    `ci-info: | ${keyType} | ${fingerprint} | - | ${boot.keyName ?? '-'} |`,
  ];
}

/** Stable, plausible usage figures for a server (seeded from its id, growing with uptime). */
export function diagnosticsOf(uuid: string, powerState: number, startedAt: number): DriverDiagnostics {
  const seed = createHash('md5').update(uuid).digest();
  const running = powerState === 1;
  const uptimeSeconds = running ? Math.max(0, Math.floor((Date.now() - startedAt) / 1000)) : 0;
  return {
    state: running ? 'running' : 'shutdown',
    uptimeSeconds,
    cpuTimeNs: (seed.readUInt16BE(0) + uptimeSeconds) * 1_000_000,
    memoryKb: 524288,
    diskReadBytes: 262144 + seed.readUInt16BE(2) * 512,
    diskWriteBytes: 65536 + seed.readUInt16BE(4) * 512,
    nicRxBytes: 4096 + seed.readUInt16BE(6),
    nicTxBytes: 2048 + seed.readUInt16BE(8),
  };
}
