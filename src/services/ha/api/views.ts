/** JSON of the instance HA API in Masakari's shapes (segment, host, notification, vmove). */
import type { HaHostRow, HaNotificationRow, HaSegmentRow, HaStepRow, HaVmoveRow } from '../../../db/index.js';

/** `2017-04-21T08:59:53.991000`, as Masakari formats times. */
export function haTime(date: Date | null): string | null {
  return date ? `${date.toISOString().slice(0, 23)}000` : null;
}

const common = (row: { created_at: Date; updated_at: Date | null }) => ({
  created_at: haTime(row.created_at),
  updated_at: haTime(row.updated_at),
  deleted_at: null,
  deleted: false,
});

/** A segment; `enabled` from 1.2. */
export function segmentView(segment: HaSegmentRow, withEnabled: boolean): Record<string, unknown> {
  return {
    id: segment.id,
    uuid: segment.uuid,
    name: segment.name,
    service_type: segment.service_type,
    description: segment.description,
    recovery_method: segment.recovery_method,
    ...(withEnabled ? { enabled: segment.enabled } : {}),
    ...common(segment),
  };
}

/** A host with its segment. */
export function hostView(host: HaHostRow, segment: HaSegmentRow, withEnabled: boolean): Record<string, unknown> {
  return {
    id: host.id,
    uuid: host.uuid,
    name: host.name,
    type: host.type,
    control_attributes: host.control_attributes,
    reserved: host.reserved,
    on_maintenance: host.on_maintenance,
    failover_segment_id: host.failover_segment_id,
    failover_segment: segmentView(segment, withEnabled),
    ...common(host),
  };
}

/** A notification; with `steps` (1.1 show) its recovery_workflow_details. */
export function notificationView(notification: HaNotificationRow, steps?: HaStepRow[]): Record<string, unknown> {
  return {
    id: notification.id,
    notification_uuid: notification.notification_uuid,
    type: notification.type,
    hostname: notification.hostname,
    generated_time: haTime(notification.generated_time),
    payload: notification.payload,
    source_host_uuid: notification.source_host_uuid,
    failover_segment_uuid: notification.failover_segment_uuid,
    status: notification.status,
    message: notification.message,
    ...common(notification),
    ...(steps ? { recovery_workflow_details: steps.map(stepView) } : {}),
  };
}

/** One step of recovery_workflow_details. */
export function stepView(step: HaStepRow): Record<string, unknown> {
  return { name: step.name, state: step.state, progress: step.progress, progress_details: step.progress_details };
}

/** A vmove. */
export function vmoveView(vmove: HaVmoveRow): Record<string, unknown> {
  return {
    id: vmove.id,
    uuid: vmove.uuid,
    notification_uuid: vmove.notification_uuid,
    instance_uuid: vmove.instance_uuid,
    instance_name: vmove.instance_name,
    source_host: vmove.source_host,
    dest_host: vmove.dest_host,
    start_time: haTime(vmove.start_time),
    end_time: haTime(vmove.end_time),
    status: vmove.status,
    type: vmove.type,
    message: vmove.message,
    ...common(vmove),
  };
}
