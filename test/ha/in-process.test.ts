/**
 * Instance HA in one process (memory bus + SQLite, noauth2: no Identity endpoint), as
 * `novarpc all` runs it with `[ha] enabled`: a compute whose service stops is reported,
 * disabled, forced down and evacuated; the engine's steps go out on the bus; a compute
 * destroys guests of servers that belong to another host now.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { NotificationListener, RequestContext } from '../../src/rpc/index.js';
import { resolveServiceConfig } from '../../src/services/config.js';
import { HA_SERVICE_NAMES, launch, type Runtime } from '../../src/services/runtime.js';
import { freePort } from '../support/net.js';
import { IMAGE } from '../services/support.js';

describe('instance HA in one process (noauth2)', () => {
  let runtime: Runtime;
  let endpoint: string;
  let haUrl: string;
  const events: Array<{ eventType: string; publisher: string; payload: any }> = [];
  let listener: NotificationListener;

  const call = async (url: string, method: string, body?: unknown, token = 'admin:admin') => {
    const response = await fetch(url, { method, headers: { 'x-auth-token': token, 'x-openstack-nova-api-version': '2.53', ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };

  beforeAll(async () => {
    const [apiPort, haPort] = [await freePort(), await freePort()];
    const config = resolveServiceConfig({
      reportInterval: 0.5,
      serviceDownTime: 10,
      periodicInterval: 0.5,
      gracefulShutdownTimeout: 2,
      notificationDriver: 'messagingv2',
      notificationTopics: ['notifications'],
      api: { listen: '127.0.0.1', port: apiPort },
      ha: { enabled: true, listen: '127.0.0.1', port: haPort, hostDownTime: 2, monitorInterval: 0.5, username: 'admin', project: 'admin' },
    });
    runtime = await launch({ config, services: ['network', 'scheduler', 'compute', 'api', ...HA_SERVICE_NAMES], computeHosts: ['ipa', 'ipb'], logger: createLogger({ level: 'silent' }) });
    endpoint = `${runtime.apiUrl}/v2.1`;
    haUrl = `${runtime.haApiUrl}/v1`;
    listener = new NotificationListener(runtime.transport, [{ topic: 'notifications' }], [
      {
        info: (_ctx, publisher, eventType, payload) => void events.push({ eventType, publisher, payload }),
        error: (_ctx, publisher, eventType, payload) => void events.push({ eventType, publisher, payload }),
      },
    ]);
    await listener.start();
  }, 30_000);
  afterAll(async () => {
    await listener?.stop();
    await runtime?.stop();
  });

  it('recovers a host whose compute stopped, and tells the bus about each step', async () => {
    const segment = (await call(`${haUrl}/segments`, 'POST', { segment: { name: 'in-process', recovery_method: 'auto', service_type: 'COMPUTE' } })).body.segment;
    for (const name of ['ipa', 'ipb']) {
      expect((await call(`${haUrl}/segments/${segment.uuid}/hosts`, 'POST', { host: { name, type: 'COMPUTE', control_attributes: 'SSH' } })).status).toBe(201);
    }
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await call(`${endpoint}/servers`, 'POST', { server: { name: `ip-${i}`, imageRef: IMAGE, flavorRef: '1' } }, 'alice:project-a')).body.server.id);
    const hostOf = async (id: string) => (await call(`${endpoint}/servers/${id}`, 'GET')).body.server;
    await expect.poll(async () => (await Promise.all(ids.map(hostOf))).every((s) => s.status === 'ACTIVE'), { timeout: 10_000 }).toBe(true);
    const victims = (await Promise.all(ids.map(hostOf))).filter((s) => s['OS-EXT-SRV-ATTR:host'] === 'ipa').map((s) => s.id as string);

    const service = runtime.services.find((s) => s.manager.binary === 'nova-compute' && s.row?.host === 'ipa')!;
    await service.stop();
    await expect.poll(async () => (await Promise.all(victims.map(hostOf))).every((s) => s.status === 'ACTIVE' && s['OS-EXT-SRV-ATTR:host'] === 'ipb'), { timeout: 20_000, interval: 250 }).toBe(true);

    const services = (await call(`${endpoint}/os-services?host=ipa&binary=nova-compute`, 'GET')).body.services;
    expect(services[0]).toMatchObject({ status: 'disabled', forced_down: true, disabled_reason: 'Masakari detected host failed.' });
    await expect.poll(() => events.filter((e) => e.eventType === 'notification.process.end').length, { timeout: 5000 }).toBe(1);
    const steps = events.filter((e) => e.eventType === 'notification.process.step.end').map((e) => e.payload['masakari_object.data'].step);
    expect(steps).toEqual(['DisableComputeServiceTask', 'PrepareHAEnabledInstancesTask', 'EvacuateInstancesTask']);
    expect(events.find((e) => e.eventType === 'notification.process.start')!.publisher).toMatch(/^masakari-engine:/);
  }, 40_000);

  it('a compute destroys guests of servers that live on another host now', async () => {
    const compute = runtime.computes.get('ipb')!;
    const ctx = RequestContext.admin();
    const elsewhere = await runtime.db.instances.create(ctx, { display_name: 'moved', host: 'ipa', project_id: 'p' });
    const here = await runtime.db.instances.create(ctx, { display_name: 'mine', host: 'ipb', project_id: 'p' });
    await compute.driver.spawn(elsewhere.uuid, IMAGE, {});
    await compute.driver.spawn(here.uuid, IMAGE, {});
    const destroyed = await compute.destroyEvacuatedInstances(ctx);
    expect(destroyed).toEqual([elsewhere.uuid]);
    expect(compute.driver.uuids()).toContain(here.uuid);
    expect(compute.driver.uuids()).not.toContain(elsewhere.uuid);
  });
});
