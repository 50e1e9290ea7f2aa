/**
 * The README's table of what the Compute API serves matches the routes the API
 * registers: every `METHOD /path` the README writes out is served, and every route the
 * API serves is in the README's table. A route added without its README line, or a
 * README line for a route that is gone, fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { buildApiApp } from '../../src/services/api/app.js';
import { defaultServiceConfig } from '../../src/services/config.js';

const README = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
const PREFIX = '/v2.1';

/** The README section that lists the API, up to the next top-level heading. */
function apiSection(): string {
  const start = README.indexOf('## The Compute API today');
  expect(start, 'README has a "The Compute API today" section').toBeGreaterThanOrEqual(0);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end === -1 ? undefined : end);
}

/** `/v2.1/servers/:id/ips/:network` → `/servers/{id}/ips/{network}`, the README's notation. */
function readmePath(url: string): string {
  return url.slice(PREFIX.length).replace(/:(\w+)/g, '{$1}');
}

describe("the README's Compute API table", () => {
  const app = buildApiApp({
    // Only the routes are read: no handler runs, so the services behind them are not needed.
    api: {} as never,
    clients: {} as never,
    db: {} as never,
    authenticate: () => {
      throw new Error('not called');
    },
    config: defaultServiceConfig(),
    logger: silentLogger(),
  });
  const routes: Array<{ method: string; url: string }> = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });

  beforeAll(() => app.ready());
  afterAll(() => app.close());

  it('lists every route the API serves', () => {
    const served = routes.filter((route) => route.url.startsWith(`${PREFIX}/`) && !route.url.startsWith(`${PREFIX}/:project_id`) && route.method !== 'HEAD');
    expect(served.length).toBeGreaterThan(20);
    const section = apiSection();
    const missing = [...new Set(served.map((route) => readmePath(route.url)))].filter((path) => path !== '/' && !section.includes(`${path}\``));
    expect(missing).toEqual([]);
  });

  it('every "METHOD /path" it writes out is served, also under /v2.1/{project_id}', () => {
    const written = [...apiSection().matchAll(/`(GET|PUT|POST|DELETE) (\/[^`\s]*)`/g)].map((match) => ({ method: match[1]!, path: match[2]! }));
    expect(written.length).toBeGreaterThan(15);
    const versionDocuments = ['/', PREFIX];
    const notServed = written.filter(({ method, path }) => {
      if (versionDocuments.includes(path)) return !app.hasRoute({ method, url: path });
      const route = path.replace(/\{(\w+)\}/g, ':$1');
      return !app.hasRoute({ method, url: `${PREFIX}${route}` }) || !app.hasRoute({ method, url: `${PREFIX}/:project_id${route}` });
    });
    expect(notServed).toEqual([]);
  });
});
