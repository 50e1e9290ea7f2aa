/** GET /servers/{id}/diagnostics: the standardized form (2.48) and the older free form. */
import type { FixedIpRow, InstanceRow } from '../../db/index.js';
import type { DriverDiagnostics } from '../compute/fake-console.js';
import { isAtLeast, type Microversion } from './microversion.js';
import { macFor } from './views.js';

/** The diagnostics of a server at `mv`. */
export function diagnosticsView(instance: InstanceRow, d: DriverDiagnostics, ips: readonly FixedIpRow[], mv: Microversion): Record<string, unknown> {
  if (!isAtLeast(mv, '2.48')) return freeForm(instance, d, ips);
  const vcpus = instance.vcpus ?? 1;
  return {
    state: d.state,
    driver: 'fake',
    hypervisor: 'fake',
    hypervisor_os: 'fake-os',
    uptime: d.uptimeSeconds,
    config_drive: false,
    num_cpus: vcpus,
    num_nics: ips.length,
    num_disks: 1,
    cpu_details: Array.from({ length: vcpus }, (_, id) => ({ id, time: Math.floor(d.cpuTimeNs / vcpus), utilisation: null })),
    nic_details: ips.map((ip) => ({
      mac_address: macFor(ip.address),
      rx_octets: d.nicRxBytes, rx_errors: 0, rx_drop: 0, rx_packets: Math.ceil(d.nicRxBytes / 512), rx_rate: null,
      tx_octets: d.nicTxBytes, tx_errors: 0, tx_drop: 0, tx_packets: Math.ceil(d.nicTxBytes / 512), tx_rate: null,
    })),
    disk_details: [{ read_bytes: d.diskReadBytes, read_requests: Math.ceil(d.diskReadBytes / 4096), write_bytes: d.diskWriteBytes, write_requests: Math.ceil(d.diskWriteBytes / 4096), errors_count: 0 }],
    memory_details: { maximum: instance.memory_mb ?? Math.floor(d.memoryKb / 1024), used: d.state === 'running' ? Math.floor(d.memoryKb / 1024 / 2) : 0 },
  };
}

/** The hypervisor-specific form before 2.48 (libvirt's keys). */
function freeForm(instance: InstanceRow, d: DriverDiagnostics, ips: readonly FixedIpRow[]): Record<string, unknown> {
  const view: Record<string, unknown> = {
    cpu0_time: d.cpuTimeNs,
    memory: (instance.memory_mb ?? 512) * 1024,
    'memory-actual': (instance.memory_mb ?? 512) * 1024,
    'memory-rss': Math.floor(d.memoryKb / 2),
    vda_read: d.diskReadBytes,
    vda_read_req: Math.ceil(d.diskReadBytes / 4096),
    vda_write: d.diskWriteBytes,
    vda_write_req: Math.ceil(d.diskWriteBytes / 4096),
    vda_errors: -1,
  };
  ips.forEach((ip, index) => {
    const tap = `tap${macFor(ip.address).replace(/:/g, '').slice(-6)}${index}`;
    Object.assign(view, { [`${tap}_rx`]: d.nicRxBytes, [`${tap}_rx_packets`]: Math.ceil(d.nicRxBytes / 512), [`${tap}_tx`]: d.nicTxBytes, [`${tap}_tx_packets`]: Math.ceil(d.nicTxBytes / 512), [`${tap}_rx_drop`]: 0, [`${tap}_tx_drop`]: 0, [`${tap}_rx_errors`]: 0, [`${tap}_tx_errors`]: 0 });
  });
  return view;
}
