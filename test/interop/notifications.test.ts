/**
 * Notifications both ways (docs/wire-format.md §8): an oslo.messaging Notifier (py_notifier.py, both
 * drivers) to a novarpc NotificationListener, and a novarpc Notifier to an oslo
 * notification listener (py_notification_listener.py).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NotificationListener,
  Notifier,
  RequestContext,
  type NotificationMetadata,
  type NotificationPriority,
} from '../../src/rpc/index.js';
import { waitFor } from '../support/harness.js';
import { InteropBus, PeerGroup, PythonPeer, PYTHON_NOTIFICATION_TIMESTAMP, requirePythonPeers, type PeerLine } from './peers.js';

const STOCK = { rabbit_quorum_queue: 'false' };
const UUID_WITH_DASHES = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const PAYLOAD = {
  instance_id: 'b6f0d1a4-3c52-4c8f-9a39-8f6f2f0c1e55',
  state: 'active',
  memory_mb: 2048,
  flags: [true, false, null],
  nested: { ips: ['10.0.0.5'], meta: { 'ünï': 'çødé' } },
};

interface Received {
  priority: NotificationPriority;
  context: RequestContext;
  publisherId: string;
  eventType: string;
  payload: unknown;
  metadata: NotificationMetadata;
}

describe('notifications between oslo.messaging and novarpc', () => {
  const peers = new PeerGroup();
  let bus: InteropBus;

  beforeAll(async () => {
    await requirePythonPeers();
    bus = await InteropBus.create();
  });

  afterAll(async () => {
    await peers.stopAll();
    await bus?.cleanup();
  });

  describe('Python Notifier → novarpc NotificationListener', () => {
    const received: Received[] = [];
    let topic: string;
    let listener: NotificationListener;

    beforeAll(async () => {
      topic = bus.notificationTopic('notifications');
      const record =
        (priority: NotificationPriority) =>
        (context: RequestContext, publisherId: string, eventType: string, payload: unknown, metadata: NotificationMetadata) => {
          received.push({ priority, context, publisherId, eventType, payload, metadata });
        };
      listener = new NotificationListener(bus.transport(STOCK), [{ topic }], [{ info: record('info'), error: record('error'), warn: record('warn') }]);
      await listener.start();
    });

    afterAll(async () => {
      await listener?.stop();
    });

    const pythonContext = {
      request_id: 'req-0c6a8a4e-61a2-4b4e-8d0f-3b1d2f7e9a10',
      user: 'carol',
      user_id: 'carol',
      project_id: 'project-c',
      roles: ['member'],
      is_admin: false,
      auth_token: 'must-not-travel',
      user_name: 'Carol',
    };

    for (const { driver, priority, sent } of [
      { driver: 'messagingv2', priority: 'info', sent: 'info' },
      { driver: 'messaging', priority: 'error', sent: 'error' },
      { driver: 'messagingv2', priority: 'warn', sent: 'warning' },
    ] as const) {
      it(`a ${driver} notification (${sent}) arrives with every field, as priority ${priority}`, async () => {
        const eventType = `compute.instance.${driver}.${sent}`;
        const notifier = await PythonPeer.start(
          peers,
          'py_notifier.py',
          [
            ...bus.pythonArgs(),
            '--topic', topic,
            '--publisher-id', 'compute.host1',
            '--event-type', eventType,
            '--payload', JSON.stringify(PAYLOAD),
            '--priority', sent,
            '--driver', driver,
            '--context', JSON.stringify(pythonContext),
          ],
          { waitReady: false },
        );
        expect(await notifier.exited).toBe(0);
        expect(notifier.events('sent')).toHaveLength(1);
        await waitFor(() => received.some((entry) => entry.eventType === eventType), 10_000, `the ${driver} notification`);
        const got = received.filter((entry) => entry.eventType === eventType);
        expect(got).toHaveLength(1);
        const [notification] = got as [Received];
        expect(notification).toMatchObject({ priority, publisherId: 'compute.host1', eventType, payload: PAYLOAD });
        expect(notification.metadata.message_id).toMatch(UUID_WITH_DASHES);
        expect(notification.metadata.timestamp).toMatch(PYTHON_NOTIFICATION_TIMESTAMP);
        expect(Math.abs(Date.parse(`${notification.metadata.timestamp.replace(' ', 'T')}Z`) - Date.now())).toBeLessThan(60_000);
        expect(notification.context).toMatchObject({
          requestId: pythonContext.request_id,
          userId: 'carol',
          projectId: 'project-c',
          roles: ['member'],
          isAdmin: false,
          userName: 'Carol',
          authToken: null, // oslo's notifier keeps only the safe keys
        });
        // Each test starts a Python notifier: importing oslo.messaging alone took 11 s on a loaded machine.
      }, 90_000);
    }
  });

  describe('novarpc Notifier → Python notification listener', () => {
    let topic: string;
    let pyListener: PythonPeer;
    let notifier: Notifier;
    const context = new RequestContext({
      requestId: 'req-5d1e0f3c-2b7a-4c9d-8e6f-1a2b3c4d5e6f',
      userId: 'dave',
      projectId: 'project-d',
      roles: ['admin'],
      isAdmin: true,
      authToken: 'secret-token',
      userName: 'Dave',
    });

    beforeAll(async () => {
      topic = bus.notificationTopic('versioned');
      pyListener = await PythonPeer.start(peers, 'py_notification_listener.py', [...bus.pythonArgs(), '--topic', topic]);
      notifier = new Notifier(bus.transport(STOCK), { publisherId: 'compute.host2', topics: [topic] });
    });

    const find = (eventType: string) => (line: PeerLine) => line.event === 'notification' && line.event_type === eventType;

    for (const { driver, priority } of [
      { driver: 'messagingv2', priority: 'info' },
      { driver: 'messaging', priority: 'warn' },
    ] as const) {
      it(`a ${driver} notification (${priority}) arrives with every field`, async () => {
        const eventType = `compute.instance.ts.${driver}`;
        await notifier.prepare({ driver }).notify(context, priority, eventType, PAYLOAD);
        const line = await pyListener.waitForLine(find(eventType), 10_000, `the ${driver} notification`);
        expect(line).toMatchObject({ priority, publisher_id: 'compute.host2', event_type: eventType, payload: PAYLOAD });
        const metadata = line.metadata as Record<string, string>;
        expect(metadata.message_id).toMatch(UUID_WITH_DASHES);
        expect(metadata.timestamp).toMatch(PYTHON_NOTIFICATION_TIMESTAMP);
        const ctxt = line.ctxt as Record<string, unknown>;
        expect(ctxt).toMatchObject({
          request_id: context.requestId,
          user: 'dave',
          user_id: 'dave',
          project_id: 'project-d',
          roles: ['admin'],
          is_admin: true,
          user_name: 'Dave',
        });
        expect(ctxt).not.toHaveProperty('auth_token');
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(pyListener.lines.filter(find(eventType))).toHaveLength(1);
      });
    }
  });
});
