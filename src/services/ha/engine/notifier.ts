/**
 * The engine's versioned notifications (Masakari's shape: `masakari_object.*` payload,
 * publisher `masakari-engine:<host>`, event types `notification.process.start|end|error`
 * and, per workflow step, `notification.process.step.start|end|error`). Best effort: a
 * notification that cannot be sent is logged, never fails the workflow.
 */
import type { HaNotificationRow } from '../../../db/index.js';
import type { Logger } from '../../../log/logger.js';
import { RequestContext, type Notifier } from '../../../rpc/index.js';
import { notificationView } from '../api/views.js';

/** Sends the engine's notifications. */
export class EngineNotifier {
  constructor(
    private readonly notifier: Notifier,
    private readonly logger: Logger,
  ) {}

  /** `notification.process.<phase>` for a whole workflow. */
  async process(notification: HaNotificationRow, phase: 'start' | 'end' | 'error', error?: Error): Promise<void> {
    await this.send(`notification.process.${phase}`, phase === 'error' ? 'ERROR' : 'INFO', { notification: notificationView(notification), ...(error ? { fault: faultOf(error) } : {}) });
  }

  /** `notification.process.step.<phase>` for one step of a workflow. */
  async step(run: { notification: HaNotificationRow }, step: string, phase: 'start' | 'end' | 'error', error?: Error): Promise<void> {
    const { notification } = run;
    await this.send(`notification.process.step.${phase}`, phase === 'error' ? 'ERROR' : 'INFO', {
      notification_uuid: notification.notification_uuid,
      type: notification.type,
      hostname: notification.hostname,
      step,
      ...(error ? { fault: faultOf(error) } : {}),
    });
  }

  private async send(eventType: string, priority: 'INFO' | 'ERROR', data: Record<string, unknown>): Promise<void> {
    const payload = {
      'masakari_object.name': 'NotificationApiPayload',
      'masakari_object.namespace': 'masakari',
      'masakari_object.version': '1.0',
      'masakari_object.data': { ...data, priority },
    };
    try {
      if (priority === 'ERROR') await this.notifier.error(RequestContext.admin(), eventType, payload);
      else await this.notifier.info(RequestContext.admin(), eventType, payload);
    } catch (error) {
      this.logger.warn({ err: error, event_type: eventType }, 'notification not sent');
    }
  }
}

function faultOf(error: Error): Record<string, unknown> {
  return { 'masakari_object.name': 'ExceptionPayload', 'masakari_object.data': { exception: error.name, exception_message: error.message } };
}
