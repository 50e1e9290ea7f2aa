/**
 * Compute notifications (`compute.instance.<action>.start|end|error` on
 * `notifications.info`/`.error`) with Nova's legacy payload. Sending is best effort: a
 * notification that cannot be sent is logged, never fails the operation.
 */
import type { InstanceRow } from '../../db/index.js';
import type { Logger } from '../../log/logger.js';
import type { Notifier, RequestContext } from '../../rpc/index.js';
import type { FixedIpInfo } from '../network/contract.js';

/** Nova's `info_from_instance`, reduced to the columns novarpc has. */
export function instancePayload(instance: InstanceRow, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    tenant_id: instance.project_id,
    user_id: instance.user_id,
    instance_id: instance.uuid,
    display_name: instance.display_name,
    instance_type_id: instance.instance_type_id,
    host: instance.host,
    state: instance.vm_state,
    state_description: instance.task_state ?? '',
    power_state: instance.power_state,
    memory_mb: instance.memory_mb,
    vcpus: instance.vcpus,
    root_gb: instance.root_gb,
    disk_gb: (instance.root_gb ?? 0) + (instance.ephemeral_gb ?? 0),
    image_ref_url: instance.image_ref,
    availability_zone: instance.availability_zone,
    created_at: instance.created_at?.toISOString?.() ?? null,
    launched_at: instance.launched_at ? instance.launched_at.toISOString() : '',
    ...extra,
  };
}

/** Sends compute.instance.* notifications for one host. */
export class InstanceNotifier {
  constructor(
    private readonly notifier: Notifier,
    private readonly logger: Logger,
  ) {}

  /** `compute.instance.<event>` at info (or error for `.error`). */
  async send(ctx: RequestContext, event: string, instance: InstanceRow, extra: { fixed_ips?: FixedIpInfo[]; message?: string } = {}): Promise<void> {
    const eventType = `compute.instance.${event}`;
    try {
      const payload = instancePayload(instance, extra);
      if (event.endsWith('.error')) await this.notifier.error(ctx, eventType, payload);
      else await this.notifier.info(ctx, eventType, payload);
    } catch (error) {
      this.logger.warn({ err: error, request_id: ctx.requestId, event_type: eventType }, 'notification not sent');
    }
  }
}
