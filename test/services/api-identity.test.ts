/**
 * The built-in Identity (v3, v2.0) and Image v2 endpoints on the API's port, with
 * `auth_strategy = keystone`: tokens issued, validated, rescoped, revoked and expired;
 * the Compute API accepting only those tokens; Glance-style image list and show.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/services/api/identity/tokens.js';
import { hashPassword, parseUsersFile, verifyPassword } from '../../src/services/api/identity/users.js';
import { IMAGE, startCloud, type TestCloud } from './support.js';

const PASSWORDS = { alice: 'alice-secret', admin: 'admin-secret' };

describe('Identity and Image endpoints (auth_strategy = keystone)', () => {
  let cloud: TestCloud;
  let dir: string;
  let base: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'novarpc-identity-'));
    const usersFile = join(dir, 'users');
    await writeFile(usersFile, `# test users\nalice ${PASSWORDS.alice} project-a\nadmin ${await hashPassword(PASSWORDS.admin)} project-a admin\n`);
    cloud = await startCloud({ api: { authStrategy: 'keystone' }, identity: { usersFile, tokenExpiration: 3600 } });
    base = cloud.endpoint.replace(/\/v2\.1$/, '');
  });
  afterAll(async () => {
    await cloud?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const v3Login = (user: string, password: string, domain: Record<string, string> = { id: 'default' }) =>
    fetch(`${base}/identity/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: { methods: ['password'], password: { user: { name: user, domain, password } } },
          scope: { project: { name: 'project-a', domain: { name: 'Default' } } },
        },
      }),
    });
  const compute = (path: string, token?: string) => fetch(`${cloud.endpoint}${path}`, { headers: token ? { 'x-auth-token': token } : {} });

  it('serves public version documents and a catalog pointing at this port', async () => {
    const versions = await fetch(`${base}/identity`);
    expect(versions.status).toBe(300);
    const v3 = (await (await fetch(`${base}/identity/v3`)).json()) as any;
    expect(v3.version).toMatchObject({ id: 'v3.14', status: 'stable', links: [{ rel: 'self', href: `${base}/identity/v3/` }] });
    expect((await fetch(`${base}/image`)).status).toBe(300);
    expect((await fetch(cloud.endpoint)).status).toBe(200);
    const login = await v3Login('alice', PASSWORDS.alice, { name: 'Default' });
    expect(login.status).toBe(201);
    expect(login.headers.get('x-subject-token')).toMatch(/^[\w-]{40,}$/);
    const token = ((await login.json()) as any).token;
    expect(token.project).toMatchObject({ name: 'project-a', domain: { id: 'default' } });
    expect(token.roles.map((role: { name: string }) => role.name)).not.toContain('admin');
    const urls = Object.fromEntries(token.catalog.map((s: any) => [s.type, s.endpoints.find((e: any) => e.interface === 'public').url]));
    expect(urls).toEqual({ compute: `${base}/v2.1`, image: `${base}/image`, identity: `${base}/identity/v3` });
  });

  it('lets only its own live tokens into the Compute API', async () => {
    expect((await compute('/servers')).status).toBe(401);
    expect((await compute('/servers', 'alice:project-a')).status).toBe(401);
    expect((await v3Login('alice', 'wrong')).status).toBe(401);
    expect((await v3Login('nobody', 'x')).status).toBe(401);
    expect((await v3Login('alice', PASSWORDS.alice, { id: 'other' })).status).toBe(401);
    const token = (await v3Login('alice', PASSWORDS.alice)).headers.get('x-subject-token')!;
    expect((await compute('/servers', token)).status).toBe(200);
    expect((await compute('/os-services', token)).status).toBe(403);
    const admin = (await v3Login('admin', PASSWORDS.admin)).headers.get('x-subject-token')!;
    expect((await compute('/os-services', admin)).status).toBe(200);
    const checked = await fetch(`${base}/identity/v3/auth/tokens`, { headers: { 'x-auth-token': admin, 'x-subject-token': token } });
    expect(checked.status).toBe(200);
    expect(((await checked.json()) as any).token.user.name).toBe('alice');
    const head = await fetch(`${base}/identity/v3/auth/tokens`, { method: 'HEAD', headers: { 'x-auth-token': token, 'x-subject-token': token } });
    expect(head.status).toBe(200);
    const nosy = await fetch(`${base}/identity/v3/auth/tokens`, { headers: { 'x-auth-token': token, 'x-subject-token': admin } });
    expect(nosy.status).toBe(403);
    const rescoped = await fetch(`${base}/identity/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: { identity: { methods: ['token'], token: { id: token } }, scope: { project: { id: 'project-a' } } } }),
    });
    expect(rescoped.status).toBe(201);
    expect(((await rescoped.json()) as any).token.methods).toEqual(['token']);
    const otherProject = await fetch(`${base}/identity/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: { identity: { methods: ['token'], token: { id: token } }, scope: { project: { id: 'project-b' } } } }),
    });
    expect(otherProject.status).toBe(401);
    const projects = (await (await fetch(`${base}/identity/v3/projects?name=project-a`, { headers: { 'x-auth-token': admin } })).json()) as any;
    expect(projects.projects.map((p: { id: string }) => p.id)).toEqual(['project-a']);
    expect((await fetch(`${base}/identity/v3/projects`, { headers: { 'x-auth-token': token } })).status).toBe(403);
    expect((await fetch(`${base}/identity/v3/projects/project-a`, { headers: { 'x-auth-token': token } })).status).toBe(200);
    expect((await fetch(`${base}/identity/v3/projects/nope`, { headers: { 'x-auth-token': admin } })).status).toBe(404);
    const revoked = await fetch(`${base}/identity/v3/auth/tokens`, { method: 'DELETE', headers: { 'x-auth-token': token, 'x-subject-token': token } });
    expect(revoked.status).toBe(204);
    expect((await compute('/servers', token)).status).toBe(401);
  });

  it('issues tokens that expire after token_expiration, and refuses them once expired', async () => {
    const login = await v3Login('alice', PASSWORDS.alice);
    const token = login.headers.get('x-subject-token')!;
    const body = ((await login.json()) as any).token;
    const lifetime = Date.parse(body.expires_at) - Date.parse(body.issued_at);
    expect(lifetime).toBe(3600_000);
    expect((await compute('/servers', token)).status).toBe(200);
    // Age the stored token instead of sleeping (the multi-process test waits a real expiry).
    await cloud.runtime.db.knex('identity_tokens').where('token_hash', hashToken(token)).update({ expires_at: new Date(Date.now() - 1000) });
    expect((await compute('/servers', token)).status).toBe(401);
  });

  it('accepts v2.0 logins naming the project as tenantId or tenantName', async () => {
    for (const tenant of [{ tenantId: 'project-a' }, { tenantName: 'project-a' }]) {
      const answer = await fetch(`${base}/identity/v2.0/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ auth: { passwordCredentials: { username: 'alice', password: PASSWORDS.alice }, ...tenant } }),
      });
      expect(answer.status).toBe(200);
      const access = ((await answer.json()) as any).access;
      expect(access.serviceCatalog.find((s: any) => s.type === 'compute').endpoints[0].publicURL).toBe(`${base}/v2.1`);
      expect((await compute('/servers', access.token.id)).status).toBe(200);
    }
  });

  it('lists and shows images as Glance does, ignoring the compute microversion header', async () => {
    const token = (await v3Login('alice', PASSWORDS.alice)).headers.get('x-subject-token')!;
    const headers = { 'x-auth-token': token, 'openstack-api-version': 'compute 9.9' };
    const all = (await (await fetch(`${base}/image/v2/images`, { headers })).json()) as any;
    expect(all.images.map((image: any) => image.id)).toContain(IMAGE);
    const page = (await (await fetch(`${base}/image/v2/images?limit=1`, { headers })).json()) as any;
    expect(page.images).toHaveLength(1);
    expect(page.next).toMatch(/^\/v2\/images\?.*marker=/);
    const shown = await fetch(`${base}/image/v2/images/${IMAGE}`, { headers });
    expect(shown.status).toBe(200);
    expect(((await shown.json()) as any)).toMatchObject({ id: IMAGE, status: 'active', visibility: 'public' });
    const byName = (await (await fetch(`${base}/image/v2/images?name=${encodeURIComponent(all.images[0].name)}`, { headers })).json()) as any;
    expect(byName.images.map((image: any) => image.name)).toEqual([all.images[0].name]);
    expect((await fetch(`${base}/image/v2/images/${all.images[0].name}`, { headers })).status).toBe(404);
    expect((await fetch(`${base}/image/v2/images`)).status).toBe(401);
  });

  it('never logs passwords or tokens', () => {
    const text = JSON.stringify(cloud.logs.lines);
    for (const secret of Object.values(PASSWORDS)) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/x-subject-token":"[\w-]{20,}/);
  });
});

describe('users file', () => {
  it('hashes with scrypt and verifies plaintext and hashed passwords', async () => {
    const hash = await hashPassword('s3cret');
    expect(hash).toMatch(/^scrypt\$[\w-]+\$[\w-]+$/);
    expect(await verifyPassword(hash, 's3cret')).toBe(true);
    expect(await verifyPassword(hash, 's3cret ')).toBe(false);
    expect(await verifyPassword('plain', 'plain')).toBe(true);
    expect(await verifyPassword('plain', 'plai')).toBe(false);
  });

  it('novarpc identity hash-password reads the password on stdin and prints a hash that verifies', async () => {
    const { execFile } = await import('node:child_process');
    const run = (input: string) =>
      new Promise<{ code: number; stdout: string }>((resolve) => {
        const child = execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'identity', 'hash-password'], { cwd: join(import.meta.dirname, '../..') }, (error, stdout) =>
          resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout }),
        );
        child.stdin!.end(input);
      });
    const hashed = await run('correct horse\n');
    expect(hashed.code).toBe(0);
    expect(await verifyPassword(hashed.stdout.trim(), 'correct horse')).toBe(true);
    expect(hashed.stdout).not.toContain('correct horse');
    expect((await run('')).code).toBe(2);
  }, 60_000);

  it('refuses a malformed line by number, without echoing it', () => {
    expect(() => parseUsersFile('ok pw proj\nbad-line-secret\n')).toThrow(/line 2/);
    expect(() => parseUsersFile('bad-line-secret\n')).not.toThrow(/secret/);
    expect(parseUsersFile('a b c admin').get('a')).toMatchObject({ project: 'c', admin: true });
  });
});
