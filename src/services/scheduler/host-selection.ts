/**
 * Filters and weights (Nova's filter scheduler, reduced): a host passes when its
 * compute service is up and enabled, it is not one the request already failed on, it is
 * in the requested availability zone, and the flavor's RAM, disk and vCPUs fit in what
 * is free; passing hosts are ordered by most free RAM (ties by name).
 */
import type { ComputeNodeRow, ServiceRow } from '../../db/index.js';
import { isServiceUp } from '../../db/index.js';

/** What the scheduler knows about one compute host. */
export interface HostState {
  host: string;
  availabilityZone: string;
  up: boolean;
  disabled: boolean;
  freeRamMb: number;
  freeDiskGb: number;
  freeVcpus: number;
}

/** The resources a request needs on a host. */
export interface ResourceRequest {
  memoryMb: number;
  diskGb: number;
  vcpus: number;
  availabilityZone?: string | null;
  /** Hosts already tried (retry.hosts). */
  ignoreHosts?: readonly string[];
}

/** Result of filtering: who passed, and why the others did not. */
export interface Selection {
  hosts: HostState[];
  rejected: Array<{ host: string; reason: string }>;
}

/** Joins compute services and nodes into host states, as of `now`. */
export function hostStates(
  services: readonly ServiceRow[],
  nodes: readonly ComputeNodeRow[],
  now: Date,
  serviceDownTimeSeconds: number,
): HostState[] {
  const byHost = new Map(services.map((service) => [service.host, service]));
  return nodes.flatMap((node) => {
    const service = byHost.get(node.host);
    if (!service) return [];
    return [
      {
        host: node.host,
        availabilityZone: service.availability_zone,
        up: isServiceUp(service, now, serviceDownTimeSeconds),
        disabled: service.disabled,
        freeRamMb: node.memory_mb - node.memory_mb_used,
        freeDiskGb: node.local_gb - node.local_gb_used,
        freeVcpus: node.vcpus - node.vcpus_used,
      },
    ];
  });
}

type Filter = (host: HostState, request: ResourceRequest) => string | null;

const FILTERS: readonly Filter[] = [
  (host) => (host.up ? null : 'compute service is down'),
  (host) => (host.disabled ? 'compute service is disabled' : null),
  (host, request) => (request.ignoreHosts?.includes(host.host) ? 'already tried for this request' : null),
  (host, request) =>
    request.availabilityZone && request.availabilityZone !== host.availabilityZone
      ? `not in availability zone ${request.availabilityZone}`
      : null,
  (host, request) => (host.freeRamMb >= request.memoryMb ? null : `${host.freeRamMb} MB RAM free, ${request.memoryMb} needed`),
  (host, request) => (host.freeDiskGb >= request.diskGb ? null : `${host.freeDiskGb} GB disk free, ${request.diskGb} needed`),
  (host, request) => (host.freeVcpus >= request.vcpus ? null : `${host.freeVcpus} vCPUs free, ${request.vcpus} needed`),
];

/** Whether `host` passes every filter (the allocation-free form of {@link selectHosts}'s test). */
export function passes(host: HostState, request: ResourceRequest): boolean {
  return (
    host.up &&
    !host.disabled &&
    !(request.ignoreHosts?.includes(host.host) ?? false) &&
    (!request.availabilityZone || request.availabilityZone === host.availabilityZone) &&
    host.freeRamMb >= request.memoryMb &&
    host.freeDiskGb >= request.diskGb &&
    host.freeVcpus >= request.vcpus
  );
}

/** Whether `a` ranks before `b` (more free RAM; ties by name), as selectHosts orders them. */
export function ranksBefore(a: HostState, b: HostState): boolean {
  return a.freeRamMb > b.freeRamMb || (a.freeRamMb === b.freeRamMb && a.host < b.host);
}

/** Hosts that can take the request, best first. */
export function selectHosts(hosts: readonly HostState[], request: ResourceRequest): Selection {
  const passed: HostState[] = [];
  const rejected: Selection['rejected'] = [];
  for (const host of hosts) {
    const reason = FILTERS.map((filter) => filter(host, request)).find((result) => result !== null);
    if (reason) rejected.push({ host: host.host, reason });
    else passed.push(host);
  }
  passed.sort((a, b) => (ranksBefore(a, b) ? -1 : ranksBefore(b, a) ? 1 : 0));
  return { hosts: passed, rejected };
}
