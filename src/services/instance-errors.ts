/**
 * Putting a server in ERROR the way Nova does: vm_state error, no task, a fault row
 * with the reason, and the create action marked as failed. Used by the scheduler (no
 * valid host, retries exhausted) and the compute (stuck builds, failed actions).
 */
import { isDbError, type Db, type InstanceUpdateOptions } from '../db/index.js';
import type { Logger } from '../log/logger.js';
import type { RequestContext } from '../rpc/index.js';
import { VmState } from './states.js';

/**
 * Sets the server to ERROR and records `reason` as its fault. Never throws: a server
 * deleted meanwhile, or a database outage, is logged. With `expected` the update is a
 * compare-and-swap: a server no longer in that task_state / on that host is left alone.
 */
export async function failInstance(
  db: Db,
  ctx: RequestContext,
  instanceId: string,
  reason: string,
  host: string | null,
  log: Logger,
  code = 500,
  expected: InstanceUpdateOptions = {},
): Promise<void> {
  try {
    await db.instances.update(ctx, instanceId, { vm_state: VmState.ERROR, task_state: null }, expected);
    await db.instanceFaults.create(ctx, { instance_uuid: instanceId, code, message: reason, host });
    log.warn({ instance_id: instanceId, vm_state: VmState.ERROR, reason }, 'server set to ERROR');
  } catch (error) {
    if (isDbError(error, 'InstanceNotFound')) log.info({ instance_id: instanceId }, 'server deleted before it could be set to ERROR');
    else if (isDbError(error, 'UnexpectedTaskState')) log.info({ instance_id: instanceId }, 'server moved on; not set to ERROR');
    else log.error({ err: error, instance_id: instanceId, reason }, 'could not set the server to ERROR');
  }
}
