/**
 * `[oslo_messaging_notifications] transport_url`: the computes send their notifications
 * over that bus, not over `transport_url`. Here the RPC runs on the memory bus and the
 * notifications must arrive on the real broker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/cli/config.js';
import { getTransport, NotificationListener, type Transport } from '../../src/rpc/index.js';
import { brokerUrl } from '../support/services.js';
import { deleteBrokerObjects, suffix } from './processes.js';
import { IMAGE, startCloud, type TestCloud } from './support.js';

describe('notifications on a bus of their own', () => {
  const id = suffix();
  const exchange = `nova_notify_${id}`;
  const topic = `notifications_${id}`;
  let url = '';
  let cloud: TestCloud | undefined;
  let listenerTransport: Transport | undefined;
  let listener: NotificationListener | undefined;
  const events: string[] = [];

  beforeAll(async () => {
    url = await brokerUrl();
    listenerTransport = getTransport(url, { options: { control_exchange: exchange } });
    listener = new NotificationListener(listenerTransport, [{ topic }], [{ info: (_ctx, _publisher, eventType) => void events.push(eventType) }]);
    await listener.start();
  });

  afterAll(async () => {
    await listener?.stop();
    await listenerTransport?.close();
    await cloud?.stop();
    if (url) await deleteBrokerObjects(url, [`${topic}.info`], [exchange]);
  });

  it('a nova.conf [oslo_messaging_notifications] transport_url sends them there', async () => {
    const iniText = `[DEFAULT]\ncontrol_exchange = ${exchange}\n[oslo_messaging_notifications]\ndriver = messagingv2\ntopics = ${topic}\ntransport_url = ${url}\n`;
    const { config } = loadConfig({ iniText });
    expect(config).toMatchObject({ transportUrl: 'memory://', notificationTransportUrl: url, notificationTopics: [topic] });
    cloud = await startCloud({ ...config, api: {}, fakeDriver: {}, topics: {} });
    const id = await cloud.boot('notified', { imageRef: IMAGE });
    await cloud.waitFor(id, ['ACTIVE']);
    await expect.poll(() => events, { timeout: 15_000 }).toEqual(expect.arrayContaining(['compute.instance.create.start', 'compute.instance.create.end']));
  });
});
