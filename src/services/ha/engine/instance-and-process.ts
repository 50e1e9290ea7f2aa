/**
 * The instance failure workflow (stop → start → confirm ACTIVE) and the process failure
 * workflow (disable the host's nova-compute, confirm it disabled), as Masakari runs them.
 */
import type { HaConfig } from '../../config.js';
import type { NovaClient } from './nova.js';
import type { WorkflowRun } from './run.js';

/** VM events Masakari recovers from: event → the domain events that count. */
const RECOVERABLE_VM_EVENTS: Record<string, readonly string[]> = {
  LIFECYCLE: ['STOPPED_FAILED'],
  IO_ERROR: ['IO_ERROR_REPORT'],
  QEMU_GUEST_AGENT_ERROR: ['STOPPED_FAILED'],
};

/** The disabled_reason of a host whose compute process died. */
export const PROCESS_FAILED_REASON = 'Masakari detected process failed.';

/** Why a VM notification needs no workflow, or undefined when it does. */
export function vmIgnoreReason(payload: Record<string, unknown>): string | undefined {
  const event = String(payload.event ?? '').toUpperCase();
  const domainEvent = String(payload.vir_domain_event ?? '').toUpperCase();
  if (RECOVERABLE_VM_EVENTS[event]?.includes(domainEvent)) return undefined;
  return `Event ${event}/${domainEvent} needs no recovery.`;
}

/** Stops, starts and confirms ACTIVE the instance of a VM notification. */
export async function recoverInstance(nova: NovaClient, config: HaConfig, run: WorkflowRun): Promise<void> {
  const id = String(run.notification.payload.instance_uuid);
  const timeoutMs = config.evacuateTimeout * 1000;
  await run.step('StopInstanceTask', `Stopping instance: ${id}`, async () => nova.stop(id, timeoutMs));
  await run.step('StartInstanceTask', `Starting instance: '${id}'`, async () => nova.start(id, timeoutMs));
  await run.step('ConfirmInstanceActiveTask', `Confirming instance '${id}' vm_state is ACTIVE`, async () => {
    await nova.waitFor(id, 'ACTIVE', timeoutMs, (server) => server.status === 'ACTIVE');
  });
}

/** Puts the host on maintenance and disables its nova-compute for a PROCESS STOPPED notification. */
export async function recoverProcess(nova: NovaClient, run: WorkflowRun): Promise<void> {
  const host = run.notification.hostname;
  await run.step('DisableComputeNodeTask', `Disabling compute service on host: '${host}'`, async () => {
    const haHost = await run.db.haSegments.findHostByName(run.context, host);
    if (haHost && !haHost.on_maintenance) await run.db.haSegments.updateHost(run.context, haHost.uuid, { on_maintenance: true });
    const service = await nova.computeService(host);
    if (service.status !== 'disabled') await nova.updateService(service.id, { status: 'disabled', disabled_reason: PROCESS_FAILED_REASON });
  });
  await run.step('ConfirmComputeNodeDisabledTask', `Confirming compute service is disabled on host: '${host}'`, async () => {
    const service = await nova.computeService(host);
    if (service.status !== 'disabled') throw new Error(`compute service on ${host} is still enabled`);
  });
}
