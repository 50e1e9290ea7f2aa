/**
 * Live migration on the fake driver (Nova's live_migration / post_live_migration): the
 * source host claims the server's resources on the destination, "copies" its memory
 * (driver time), switches its host (a CAS on task_state and host), moves its addresses,
 * has the destination take the running guest over (with its console log), lets go of it
 * and of its claim here, and only then ends the task. The server stays ACTIVE throughout.
 */
import { instanceAmounts } from '../../db/compute-nodes.js';
import type { RequestContext } from '../../rpc/index.js';
import { errorMessage } from '../context.js';
import { TaskState } from '../states.js';
import { bootInfo } from './build.js';
import { releaseResources, step, type ComputeHost } from './host.js';

/** Moves a server of this host to `dest`. Never throws: a failure leaves it ACTIVE, with a fault. */
export async function liveMigrate(compute: ComputeHost, ctx: RequestContext, id: string, dest: string): Promise<void> {
  const log = compute.logger.child({ request_id: ctx.requestId, instance_id: id, dest });
  const instance = await compute.db.instances.get(ctx, id).catch(() => undefined);
  if (!instance || instance.task_state !== TaskState.MIGRATING || instance.host !== compute.host) {
    return void log.info({ task_state: instance?.task_state, instance_host: instance?.host }, 'live migration dropped: the server changed meanwhile');
  }
  const amounts = instanceAmounts(instance);
  try {
    await compute.db.computeNodes.claim(ctx, dest, amounts);
  } catch (error) {
    await giveUp(compute, ctx, id, `Live migration to ${dest} refused: ${errorMessage(error)}`);
    return;
  }
  await compute.notifier.send(ctx, 'live_migration._post.start', instance);
  let switched = false;
  let released = false;
  try {
    await compute.driver.migrateDisk();
    await compute.db.instances.update(ctx, id, { host: dest }, { expectedTaskState: TaskState.MIGRATING, expectedHost: compute.host });
    switched = true;
    await compute.network.setup_networks_on_host(ctx, { instance_id: id, host: dest });
    await compute.computes.prepare({ server: dest }).post_live_migration_at_destination(ctx, { instance_id: id, console: compute.driver.consoleLines(id).slice(-1000) });
    await compute.driver.destroy(id);
    await releaseResources(compute, ctx, amounts);
    released = true;
    const moved = await step(compute, ctx, id, { task_state: null }, TaskState.MIGRATING);
    log.info({ instance_host: dest }, 'server live-migrated');
    await compute.notifier.send(ctx, 'live_migration._post.end', moved);
  } catch (error) {
    // Whichever host the server is not on gives its claim back.
    if (!released) await releaseResources(switched ? compute : { ...compute, host: dest }, ctx, amounts);
    await giveUp(compute, ctx, id, `Live migration to ${dest} failed: ${errorMessage(error)}`);
  }
}

/** On the destination: takes over the guest that just arrived. */
export async function adoptMigrated(compute: ComputeHost, ctx: RequestContext, id: string, console: readonly string[]): Promise<{ adopted: boolean }> {
  const instance = await compute.db.instances.get(ctx, id);
  const addresses = await compute.db.fixedIps.listByInstance(ctx, id);
  compute.driver.adopt(id, instance.image_ref, bootInfo(instance, addresses), console);
  compute.logger.info({ request_id: ctx.requestId, instance_id: id }, 'took over a live-migrated server');
  return { adopted: true };
}

async function giveUp(compute: ComputeHost, ctx: RequestContext, id: string, reason: string): Promise<void> {
  compute.logger.warn({ request_id: ctx.requestId, instance_id: id, reason }, 'live migration failed; the server stays here');
  await compute.db.instanceFaults.create(ctx, { instance_uuid: id, code: 500, message: reason, host: compute.host }).catch(() => undefined);
  await compute.db.instances.update(ctx, id, { task_state: null }, { expectedTaskState: TaskState.MIGRATING }).catch(() => undefined);
}
