/**
 * Builds that never reached a host. A run_instance cast the scheduler could not finish
 * (the database went away while it claimed a host) is logged and acknowledged, never
 * requeued, so its server would wait in BUILD (task_state scheduling, no host) for ever:
 * a compute's instance_build_timeout check only sees the servers placed on it. The
 * scheduler puts such builds in ERROR once they have waited without a change for
 * instance_build_timeout (since the row was last updated: a build just taken over from a
 * dead host and being rescheduled is fresh), with a compare-and-swap on (scheduling, no
 * host) so a build placed meanwhile is left alone.
 */
import type { Db, InstanceRow } from '../../db/index.js';
import type { Logger } from '../../log/logger.js';
import type { RequestContext } from '../../rpc/index.js';
import { failInstance } from '../instance-errors.js';
import { TaskState, VmState } from '../states.js';

/** What the check needs. */
export interface UnplacedBuildsDeps {
  db: Db;
  logger: Logger;
  /** `instance_build_timeout`, in seconds. */
  buildTimeoutSeconds: number;
}

/** The fault recorded on a build that never got a host in time. */
export const UNPLACED_BUILD_REASON = 'Instance build timed out before a host was chosen. Set to error state.';

/** Puts builds waiting for a host, unchanged for `buildTimeoutSeconds`, in ERROR; returns how many. */
export async function failUnplacedBuilds(deps: UnplacedBuildsDeps, ctx: RequestContext, now = Date.now()): Promise<number> {
  const waiting = await deps.db.instances.list(ctx, { vm_state: VmState.BUILDING, task_state: TaskState.SCHEDULING });
  const lastChange = (instance: InstanceRow) => (instance.updated_at ?? instance.created_at).getTime();
  const stale = waiting.filter((instance) => instance.host === null && now - lastChange(instance) >= deps.buildTimeoutSeconds * 1000);
  for (const instance of stale) {
    const log = deps.logger.child({ instance_id: instance.uuid });
    await failInstance(deps.db, ctx, instance.uuid, UNPLACED_BUILD_REASON, null, log, 500, {
      expectedTaskState: TaskState.SCHEDULING,
      expectedHost: null,
    });
  }
  return stale.length;
}
