/**
 * Nova's instance states: vm_state (what the server is), task_state (what is being done
 * to it), power_state (what the hypervisor says), and the API status derived from them.
 */

/** vm_state values. */
export const VmState = {
  ACTIVE: 'active',
  BUILDING: 'building',
  STOPPED: 'stopped',
  RESIZED: 'resized',
  ERROR: 'error',
  DELETED: 'deleted',
} as const;

/** task_state values. */
export const TaskState = {
  SCHEDULING: 'scheduling',
  NETWORKING: 'networking',
  BLOCK_DEVICE_MAPPING: 'block_device_mapping',
  SPAWNING: 'spawning',
  DELETING: 'deleting',
  REBOOTING: 'rebooting',
  REBOOTING_HARD: 'rebooting_hard',
  POWERING_OFF: 'powering-off',
  POWERING_ON: 'powering-on',
  REBUILDING: 'rebuilding',
  REBUILD_SPAWNING: 'rebuild_spawning',
  RESIZE_PREP: 'resize_prep',
  RESIZE_MIGRATING: 'resize_migrating',
  RESIZE_FINISH: 'resize_finish',
  RESIZE_CONFIRMING: 'resize_confirming',
  RESIZE_REVERTING: 'resize_reverting',
  IMAGE_SNAPSHOT: 'image_snapshot',
  IMAGE_UPLOADING: 'image_uploading',
  UPDATING_PASSWORD: 'updating_password',
  MIGRATING: 'migrating',
} as const;

/** power_state values (nova.compute.power_state). */
export const PowerState = { NOSTATE: 0, RUNNING: 1, PAUSED: 3, SHUTDOWN: 4, CRASHED: 6 } as const;

const TASK_STATUS: Record<string, string> = {
  [TaskState.REBOOTING]: 'REBOOT',
  [TaskState.REBOOTING_HARD]: 'HARD_REBOOT',
  [TaskState.REBUILDING]: 'REBUILD',
  [TaskState.REBUILD_SPAWNING]: 'REBUILD',
  [TaskState.RESIZE_PREP]: 'RESIZE',
  [TaskState.RESIZE_MIGRATING]: 'RESIZE',
  [TaskState.RESIZE_FINISH]: 'RESIZE',
  [TaskState.RESIZE_REVERTING]: 'REVERT_RESIZE',
  [TaskState.UPDATING_PASSWORD]: 'PASSWORD',
  [TaskState.MIGRATING]: 'MIGRATING',
};

const VM_STATUS: Record<string, string> = {
  [VmState.ACTIVE]: 'ACTIVE',
  [VmState.BUILDING]: 'BUILD',
  [VmState.STOPPED]: 'SHUTOFF',
  [VmState.RESIZED]: 'VERIFY_RESIZE',
  [VmState.ERROR]: 'ERROR',
  [VmState.DELETED]: 'DELETED',
};

/** The API status of a server (nova.api.openstack.common.status_from_state). */
export function statusFromState(vmState: string | null, taskState: string | null): string {
  if (vmState === VmState.ACTIVE && taskState && TASK_STATUS[taskState]) return TASK_STATUS[taskState];
  if (vmState === VmState.RESIZED && taskState === TaskState.RESIZE_REVERTING) return 'REVERT_RESIZE';
  return VM_STATUS[vmState ?? ''] ?? 'UNKNOWN';
}

/** The vm_states a status filter (`?status=ACTIVE`) selects. */
export function vmStatesForStatus(status: string): string[] {
  return Object.entries(VM_STATUS)
    .filter(([, value]) => value === status.toUpperCase())
    .map(([state]) => state);
}
