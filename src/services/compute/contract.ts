/**
 * The compute service's RPC surface (Nova's compute/rpcapi.py). Requests for one server
 * go to `compute.<host>`, the host that runs it.
 *
 * Version history:
 *   1.0 - Initial version: run_instance, terminate_instance, reboot_instance,
 *         stop_instance, start_instance, rebuild_instance
 *   1.1 - resize_instance, confirm_resize, revert_resize (resize on the same host)
 *   1.2 - snapshot_instance, set_admin_password
 *   1.3 - get_console_output, get_diagnostics (calls); evacuate_instance (cast, to the
 *         destination host of an evacuation)
 *   1.4 - live_migration (cast, to the source host), post_live_migration_at_destination
 *         (call, to the destination host)
 */
import { z } from 'zod';
import { defineContract } from '../../rpc/contract.js';
import { runInstanceArgs } from '../build-request.js';

const instanceOnly = z.strictObject({ instance_id: z.string().min(1) });

/** A hypervisor's figures for one server. */
export const diagnosticsSchema = z.object({
  state: z.enum(['running', 'shutdown']),
  uptimeSeconds: z.number(),
  cpuTimeNs: z.number(),
  memoryKb: z.number(),
  diskReadBytes: z.number(),
  diskWriteBytes: z.number(),
  nicRxBytes: z.number(),
  nicTxBytes: z.number(),
});

export const computeContract = defineContract({
  topic: 'compute',
  name: 'ComputeManager',
  version: '1.4',
  methods: {
    run_instance: {
      kind: 'cast',
      since: '1.0',
      description: 'Build a server the scheduler placed here: network, block devices, spawn.',
      args: runInstanceArgs,
    },
    terminate_instance: { kind: 'cast', since: '1.0', description: 'Destroy a server and free its resources.', args: instanceOnly },
    reboot_instance: {
      kind: 'cast',
      since: '1.0',
      description: 'Reboot a server (SOFT or HARD).',
      args: z.strictObject({ instance_id: z.string().min(1), reboot_type: z.enum(['SOFT', 'HARD']).default('SOFT') }),
    },
    stop_instance: { kind: 'cast', since: '1.0', description: 'Power a server off.', args: instanceOnly },
    start_instance: { kind: 'cast', since: '1.0', description: 'Power a server on.', args: instanceOnly },
    rebuild_instance: {
      kind: 'cast',
      since: '1.0',
      description: 'Re-create a server from an image, keeping its id and addresses.',
      args: z.strictObject({ instance_id: z.string().min(1), image_ref: z.string().min(1), admin_password: z.string().nullish() }),
    },
    resize_instance: {
      kind: 'cast',
      since: '1.1',
      description: 'Move a server to another flavor on this host; ends in VERIFY_RESIZE.',
      args: z.strictObject({ instance_id: z.string().min(1), instance_type_id: z.number().int().positive() }),
    },
    confirm_resize: { kind: 'cast', since: '1.1', description: 'Keep the new flavor; free the old one.', args: instanceOnly },
    revert_resize: { kind: 'cast', since: '1.1', description: 'Go back to the old flavor; free the new one.', args: instanceOnly },
    snapshot_instance: {
      kind: 'cast',
      since: '1.2',
      description: "Snapshot a server's disk into an image.",
      args: z.strictObject({ instance_id: z.string().min(1), image_id: z.string().min(1) }),
    },
    set_admin_password: {
      kind: 'cast',
      since: '1.2',
      description: "Set a server's administrator password.",
      args: z.strictObject({ instance_id: z.string().min(1), new_pass: z.string() }),
    },
    get_console_output: {
      kind: 'call',
      since: '1.3',
      description: "A server's console log, the last tail_length lines when given.",
      args: z.strictObject({ instance_id: z.string().min(1), tail_length: z.number().int().nullish() }),
      returns: z.object({ output: z.string() }),
    },
    get_diagnostics: {
      kind: 'call',
      since: '1.3',
      description: "What the hypervisor reports of a server's use; null when it does not run here.",
      args: instanceOnly,
      returns: z.object({ diagnostics: diagnosticsSchema.nullable() }),
    },
    evacuate_instance: {
      kind: 'cast',
      since: '1.3',
      description: 'Rebuild here a server whose host is down, keeping its id, addresses, metadata and key.',
      args: z.strictObject({ instance_id: z.string().min(1), source_host: z.string().min(1), image_ref: z.string().nullish() }),
    },
    live_migration: {
      kind: 'cast',
      since: '1.4',
      description: 'Move a running server from this host to dest without stopping it.',
      args: z.strictObject({ instance_id: z.string().min(1), dest: z.string().min(1) }),
    },
    post_live_migration_at_destination: {
      kind: 'call',
      since: '1.4',
      description: 'Take over a server that has just been live-migrated here, with its console log so far.',
      args: z.strictObject({ instance_id: z.string().min(1), console: z.array(z.string()).max(1000) }),
      returns: z.object({ adopted: z.boolean() }),
    },
  },
});
