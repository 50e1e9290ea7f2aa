/**
 * The instance HA engine's RPC surface (Masakari's engine/rpcapi.py), on topic
 * `[ha] topic` (default `ha_engine`).
 *
 * Version history:
 *   1.0 - Initial version: process_notification (cast)
 *   1.1 - get_notification_recovery_workflow_details (call)
 */
import { z } from 'zod';
import { defineContract } from '../../../rpc/contract.js';

/** A notification as the API hands it over: its uuid is what the engine needs (it reads the rest from the database). */
const notificationRef = z.looseObject({ notification_uuid: z.string().min(1) });

const stepSchema = z.object({
  name: z.string(),
  state: z.string(),
  progress: z.number(),
  progress_details: z.array(z.object({ timestamp: z.string(), message: z.string(), progress: z.string() })),
});

export const haEngineContract = defineContract({
  topic: 'ha_engine',
  name: 'MasakariManager',
  version: '1.1',
  methods: {
    process_notification: {
      kind: 'cast',
      since: '1.0',
      description: 'Run the recovery workflow of a notification (COMPUTE_HOST, VM or PROCESS).',
      args: z.strictObject({ notification: notificationRef }),
    },
    get_notification_recovery_workflow_details: {
      kind: 'call',
      since: '1.1',
      description: "The notification's recovery workflow steps with their state and progress lines.",
      args: z.strictObject({ notification: notificationRef }),
      returns: z.object({ notification_uuid: z.string(), status: z.string(), recovery_workflow_details: z.array(stepSchema) }),
    },
  },
});
