/**
 * Microversion negotiation of the Compute API: headers in, headers out, 406 and 400 in
 * Nova's shape, route ranges (404 outside), and the version documents' range.
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMicroversion, checkRouteRange, isAtLeast, isAtMost, MAX_MICROVERSION, negotiateMicroversion, since } from '../../src/services/api/microversion.js';
import { startCloud, USER, type TestCloud } from './support.js';

describe('Compute API microversions', () => {
  let cloud: TestCloud;
  beforeAll(async () => {
    cloud = await startCloud();
  });
  afterAll(async () => {
    await cloud?.stop();
  });

  const get = (path: string, headers: Record<string, string>) => fetch(`${cloud.endpoint}${path}`, { headers: { 'x-auth-token': USER, ...headers } });

  it('answers the version asked with either header, the new one winning, and Vary', async () => {
    const plain = await get('/flavors', {});
    expect(plain.headers.get('openstack-api-version')).toBe('compute 2.1');
    expect(plain.headers.get('x-openstack-nova-api-version')).toBe('2.1');
    expect(plain.headers.get('vary')).toMatch(/OpenStack-API-Version/);
    const legacy = await get('/flavors', { 'x-openstack-nova-api-version': '2.27' });
    expect(legacy.headers.get('openstack-api-version')).toBe('compute 2.27');
    const both = await get('/flavors', { 'x-openstack-nova-api-version': '2.27', 'openstack-api-version': 'compute 2.53' });
    expect(both.headers.get('x-openstack-nova-api-version')).toBe('2.53');
    const latest = await get('/flavors', { 'openstack-api-version': 'compute latest' });
    expect(latest.headers.get('openstack-api-version')).toBe(`compute ${MAX_MICROVERSION}`);
    const otherService = await get('/flavors', { 'openstack-api-version': 'image 2.5' });
    expect(otherService.headers.get('openstack-api-version')).toBe('compute 2.1');
  });

  it('refuses versions out of range with 406 and malformed ones with 400', async () => {
    for (const asked of ['2.0', '2.999', '3.1']) {
      const answer = await get('/flavors', { 'openstack-api-version': `compute ${asked}` });
      expect(answer.status).toBe(406);
      expect((await answer.json()) as any).toEqual({
        computeFault: { code: 406, message: `Version ${asked} is not supported by the API. Minimum is 2.1 and maximum is ${MAX_MICROVERSION}.` },
      });
    }
    const bad = await get('/flavors', { 'x-openstack-nova-api-version': 'two' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).badRequest.message).toMatch(/invalid format/);
  });

  it('states min and max in the version documents, which need no token', async () => {
    const v21 = await fetch(cloud.endpoint);
    expect(v21.status).toBe(200);
    expect(((await v21.json()) as any).version).toMatchObject({ id: 'v2.1', version: MAX_MICROVERSION, min_version: '2.1' });
    const root = await fetch(cloud.endpoint.replace('/v2.1', '/'));
    const current = ((await root.json()) as any).versions.find((v: { id: string }) => v.id === 'v2.1');
    expect(current).toMatchObject({ version: MAX_MICROVERSION, min_version: '2.1' });
  });
});

describe('microversion helpers', () => {
  it('compares versions numerically, not as text', () => {
    const v = negotiateMicroversion({ 'openstack-api-version': 'compute 2.10' });
    expect(isAtLeast(v, '2.9')).toBe(true);
    expect(isAtLeast(v, '2.11')).toBe(false);
    expect(isAtMost(v, '2.10')).toBe(true);
  });

  it('answers 404 for a route outside its declared range', async () => {
    const app = Fastify();
    app.decorateRequest('microversion', null as never);
    app.addHook('onRequest', async (request, reply) => applyMicroversion(request, reply));
    app.addHook('preHandler', async (request) => checkRouteRange(request));
    app.setErrorHandler((error: { status?: number }, _request, reply) => void reply.code(error.status ?? 500).send({}));
    app.get('/old', since(undefined, '2.35'), async () => ({ ok: true }));
    app.get('/new', since('2.53'), async () => ({ ok: true }));
    const status = async (url: string, version: string) =>
      (await app.inject({ url, headers: { 'openstack-api-version': `compute ${version}` } })).statusCode;
    expect([await status('/old', '2.35'), await status('/old', '2.36')]).toEqual([200, 404]);
    expect([await status('/new', '2.52'), await status('/new', '2.53')]).toEqual([404, 200]);
    await app.close();
  });
});
