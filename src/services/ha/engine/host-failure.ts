/**
 * The host failure workflow (Masakari's host_failure flow, without its fixed sleep):
 * put the host on maintenance; disable its nova-compute with Masakari's reason AND force
 * it down, so Nova's evacuate precondition holds at once; list its servers across
 * projects; evacuate them a few at a time by the segment's recovery method. Every move
 * is a vmove row, so a resumed workflow skips what is done and waits on what is in flight.
 */
import type { HaHostRow, HaVmoveRow } from '../../../db/index.js';
import type { HaConfig } from '../../config.js';
import { hostOf, taskOf, type NovaClient, type NovaServer } from './nova.js';
import type { WorkflowRun } from './run.js';

/** Masakari's reason on a failed host's compute service. */
export const HOST_FAILED_REASON = 'Masakari detected host failed.';
const MOVABLE_STATES = ['active', 'stopped', 'error'];

/** What the workflow needs. */
export interface HostFailureDeps {
  nova: NovaClient;
  config: HaConfig;
}

/** Runs the workflow for a COMPUTE_HOST STOPPED notification; throws when recovery failed. */
export async function recoverHost(deps: HostFailureDeps, run: WorkflowRun, method: string): Promise<void> {
  const host = run.notification.hostname;
  await run.step('DisableComputeServiceTask', `Disabling compute service on host: '${host}'`, async () => disableFailedHost(deps, run, host));
  const servers = await run.step('PrepareHAEnabledInstancesTask', `Preparing instances for evacuation on host: '${host}'`, async (progress) => {
    const found = await deps.nova.serversOnHost(host);
    await progress(`Total instances running on failed host '${host}': ${found.length}`, 0.5);
    return found;
  });
  const pending = await run.step('EvacuateInstancesTask', `Evacuating ${servers.length} instances from host '${host}' (${method})`, async (progress) => {
    const failed = await evacuateByMethod(deps, run, servers, method);
    await progress(`Evacuated ${servers.length - failed.length} of ${servers.length} instances`, 0.9);
    return failed;
  }, () => []);
  if (pending.length > 0) throw new Error(`could not evacuate ${pending.length} instances: ${pending.map((s) => s.id).join(', ')}`);
}

async function disableFailedHost(deps: HostFailureDeps, run: WorkflowRun, host: string): Promise<void> {
  const haHost = await run.db.haSegments.findHostByName(run.context, host);
  if (haHost && !haHost.on_maintenance) await run.db.haSegments.updateHost(run.context, haHost.uuid, { on_maintenance: true });
  const service = await deps.nova.computeService(host);
  if (service.status === 'disabled' && service.forced_down) return;
  await deps.nova.updateService(service.id, { status: 'disabled', disabled_reason: HOST_FAILED_REASON, forced_down: true });
}

/**
 * Evacuates by recovery method: auto (the scheduler picks), reserved_host (to a reserved
 * host of the segment), auto_priority (auto, then reserved hosts for what failed) and
 * rh_priority (reserved hosts, then auto). Returns the servers still not moved.
 */
async function evacuateByMethod(deps: HostFailureDeps, run: WorkflowRun, servers: NovaServer[], method: string): Promise<NovaServer[]> {
  const auto = (list: NovaServer[]) => evacuateAll(deps, run, list, undefined);
  const reserved = async (list: NovaServer[]) => {
    if (list.length === 0) return list;
    const target = await reserveHost(deps, run);
    if (!target) {
      run.log.warn('no reserved host available for evacuation');
      return list;
    }
    return evacuateAll(deps, run, list, target);
  };
  switch (method) {
    case 'reserved_host':
      return reserved(servers);
    case 'auto_priority':
      return reserved(await auto(servers));
    case 'rh_priority':
      return auto(await reserved(servers));
    default:
      return auto(servers);
  }
}

/**
 * A reserved host of the failed host's segment, made usable: its nova-compute enabled and
 * its reserved flag cleared (Masakari's reserved_host steps). One already taken by an
 * earlier run of this workflow is reused.
 */
async function reserveHost(deps: HostFailureDeps, run: WorkflowRun): Promise<string | undefined> {
  const segment = run.notification.failover_segment_uuid;
  if (!segment) return undefined;
  const taken = (await run.db.haWorkflows.listVmoves(run.context, run.uuid)).find((vmove) => vmove.message?.startsWith('reserved host '));
  if (taken?.dest_host) return taken.dest_host;
  const hosts = await run.db.haSegments.listHosts(run.context, { failover_segment_id: segment, reserved: true, on_maintenance: false });
  const candidate: HaHostRow | undefined = hosts.find((host) => host.name !== run.notification.hostname);
  if (!candidate) return undefined;
  const service = await deps.nova.computeService(candidate.name);
  if (service.status !== 'enabled') await deps.nova.updateService(service.id, { status: 'enabled' });
  await run.db.haSegments.updateHost(run.context, candidate.uuid, { reserved: false });
  return candidate.name;
}

/** Evacuates servers `evacuate_concurrency` at a time; returns those that failed. */
async function evacuateAll(deps: HostFailureDeps, run: WorkflowRun, servers: NovaServer[], target: string | undefined): Promise<NovaServer[]> {
  const failed: NovaServer[] = [];
  const queue = [...servers];
  const worker = async () => {
    for (let server = queue.shift(); server; server = queue.shift()) {
      try {
        await evacuateOne(deps, run, server, target);
      } catch (error) {
        run.checkLease();
        run.log.warn({ err: error, instance_uuid: server.id }, 'evacuation failed');
        await markFailed(run, server.id, error as Error);
        failed.push(server);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, deps.config.evacuateConcurrency) }, worker));
  run.checkLease();
  return failed;
}

async function markFailed(run: WorkflowRun, instanceUuid: string, error: Error): Promise<void> {
  const vmove = (await run.db.haWorkflows.listVmoves(run.context, run.uuid)).find((candidate) => candidate.instance_uuid === instanceUuid);
  if (vmove) await run.db.haWorkflows.updateVmove(run.context, vmove.uuid, { status: 'failed', end_time: new Date(), message: error.message.slice(0, 1000) });
}

/**
 * Moves one server off the failed host: lock unless locked, reset to error when its
 * state does not allow evacuation, evacuate, wait until it runs elsewhere, stop it again
 * if it was stopped, unlock. A server already moved (or being moved by an earlier run)
 * is not evacuated again.
 */
async function evacuateOne(deps: HostFailureDeps, run: WorkflowRun, listed: NovaServer, target: string | undefined): Promise<void> {
  const { nova } = deps;
  const failedHost = run.notification.hostname;
  const vmove = await run.db.haWorkflows.ensureVmove(run.context, { notification_uuid: run.uuid, instance_uuid: listed.id, instance_name: listed.name, source_host: failedHost, type: 'evacuation' });
  if (vmove.status === 'succeeded') return;
  run.checkLease();
  const update = (changes: Partial<HaVmoveRow>) => run.db.haWorkflows.updateVmove(run.context, vmove.uuid, changes);
  let server = await nova.server(listed.id);
  const inFlight = vmove.status !== 'pending' && (hostOf(server) !== failedHost || taskOf(server) !== null);
  const prior = { vm_state: vmove.prior_vm_state ?? server['OS-EXT-STS:vm_state'] ?? 'active', locked: vmove.prior_locked ?? Boolean(server.locked) };
  if (!inFlight) {
    await update({ status: 'ongoing', start_time: vmove.start_time ?? new Date(), prior_vm_state: prior.vm_state, prior_locked: prior.locked, message: target ? `reserved host ${target}` : null });
    if (!server.locked) await nova.action(server.id, { lock: null });
    if (!MOVABLE_STATES.includes(server['OS-EXT-STS:vm_state'] ?? '') || taskOf(server)) await nova.action(server.id, { 'os-resetState': { state: 'error' } });
    await nova.action(server.id, { evacuate: target ? { host: target } : {} });
  }
  const timeoutMs = deps.config.evacuateTimeout * 1000;
  server = await nova.waitFor(server.id, `running on another host than ${failedHost}`, timeoutMs, (s) => hostOf(s) !== failedHost && !taskOf(s) && ['ACTIVE', 'SHUTOFF'].includes(s.status), (s) => (s.status === 'ERROR' && !taskOf(s) && hostOf(s) !== failedHost ? 'rebuilt in ERROR' : undefined));
  if (prior.vm_state === 'stopped') await nova.stop(server.id, timeoutMs);
  if (!prior.locked) await nova.action(server.id, { unlock: null });
  await update({ status: 'succeeded', dest_host: hostOf(server), end_time: new Date() });
}
