/**
 * JSON views of the admin resources by microversion: os-services (forced_down from 2.11,
 * UUID ids from 2.53) and os-hypervisors (UUID ids from 2.53, cpu_info an object from 2.28).
 */
import type { ComputeNodeRow, ServiceRow } from '../../db/index.js';
import { isAtLeast, type Microversion } from './microversion.js';
import { isoTime } from './views.js';

/** A row of os-services. */
export function serviceView(service: ServiceRow, up: boolean, version: Microversion): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: isAtLeast(version, '2.53') ? service.uuid : service.id,
    binary: service.binary,
    host: service.host,
    zone: service.binary === 'nova-compute' ? service.availability_zone : 'internal',
    status: service.disabled ? 'disabled' : 'enabled',
    state: up ? 'up' : 'down',
    updated_at: isoTime(service.updated_at),
    disabled_reason: service.disabled_reason,
  };
  if (isAtLeast(version, '2.11')) view.forced_down = service.forced_down;
  return view;
}

/** A row of os-hypervisors, short or detailed. */
export function hypervisorView(
  node: ComputeNodeRow,
  service: ServiceRow | undefined,
  up: boolean,
  detail: boolean,
  version: Microversion,
): Record<string, unknown> {
  const uuids = isAtLeast(version, '2.53');
  const summary = {
    id: uuids ? node.uuid : node.id,
    hypervisor_hostname: node.hypervisor_hostname ?? node.host,
    state: up ? 'up' : 'down',
    status: service?.disabled ? 'disabled' : 'enabled',
  };
  if (!detail) return summary;
  return {
    ...summary,
    vcpus: node.vcpus,
    memory_mb: node.memory_mb,
    local_gb: node.local_gb,
    vcpus_used: node.vcpus_used,
    memory_mb_used: node.memory_mb_used,
    local_gb_used: node.local_gb_used,
    free_ram_mb: node.memory_mb - node.memory_mb_used,
    free_disk_gb: node.local_gb - node.local_gb_used,
    running_vms: node.running_vms,
    hypervisor_type: node.hypervisor_type,
    hypervisor_version: node.hypervisor_version,
    current_workload: 0,
    disk_available_least: node.local_gb - node.local_gb_used,
    host_ip: '127.0.0.1',
    cpu_info: isAtLeast(version, '2.28') ? parseCpuInfo(node.cpu_info) : (node.cpu_info ?? '{}'),
    service: {
      host: node.host,
      id: uuids ? (service?.uuid ?? null) : (service?.id ?? node.service_id),
      disabled_reason: service?.disabled_reason ?? null,
    },
  };
}

/** The statistics of GET /os-hypervisors/statistics: sums over every node. */
export function hypervisorStatistics(nodes: readonly ComputeNodeRow[]): Record<string, number> {
  const sum = (pick: (node: ComputeNodeRow) => number) => nodes.reduce((total, node) => total + pick(node), 0);
  return {
    count: nodes.length,
    vcpus: sum((n) => n.vcpus),
    memory_mb: sum((n) => n.memory_mb),
    local_gb: sum((n) => n.local_gb),
    vcpus_used: sum((n) => n.vcpus_used),
    memory_mb_used: sum((n) => n.memory_mb_used),
    local_gb_used: sum((n) => n.local_gb_used),
    free_ram_mb: sum((n) => n.memory_mb - n.memory_mb_used),
    free_disk_gb: sum((n) => n.local_gb - n.local_gb_used),
    current_workload: 0,
    running_vms: sum((n) => n.running_vms),
    disk_available_least: sum((n) => n.local_gb - n.local_gb_used),
  };
}

function parseCpuInfo(text: string | null): unknown {
  try {
    return text ? (JSON.parse(text) as unknown) : {};
  } catch {
    return {};
  }
}
