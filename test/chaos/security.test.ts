/**
 * Security basics on the multi-process cloud: a RabbitMQ user and a MariaDB user with
 * passwords of their own in the transport and database URLs, token authentication,
 * sql_echo and debug logging on. After boots with an adminPass, a changePassword and
 * a rebuild with a password, no process's log (stdout or stderr) may contain a broker
 * or database password, an admin password or an auth token. Non-admin tokens get 403
 * on admin routes and filters; one project cannot read or change another's servers (404).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerUrl, databaseUrl } from '../support/services.js';
import { startProcessCloud, waitSettled, type ProcessCloud } from '../support/process-cloud.js';
import { ChaosSummary } from './summary.js';

const run = promisify(execFile);
const secret = (label: string) => `${label}${randomBytes(9).toString('hex')}`;

describe('security basics', () => {
  const summary = new ChaosSummary();
  const id = randomBytes(4).toString('hex');
  const user = `novarpc_sec_${id}`;
  const dbName = `novarpc_sec_${id}`;
  const secrets = {
    rabbitPassword: secret('RbPw'),
    dbPassword: secret('DbPw'),
    adminPass: secret('AdmPass'),
    newPass: secret('NewPass'),
    rebuildPass: secret('RebPass'),
    aliceToken: secret('tokA'),
    bobToken: secret('tokB'),
    adminToken: secret('tokAdm'),
  };
  const tokenFile = join(tmpdir(), `novarpc-tokens-${id}`);
  let rootDb = '';
  let cloud: ProcessCloud | undefined;
  const cleanups: Array<() => Promise<unknown>> = [];

  const sql = async (statement: string) => {
    const connection = await mysql.createConnection({ uri: rootDb });
    try {
      await connection.query(statement);
    } finally {
      await connection.end();
    }
  };

  beforeAll(async () => {
    const broker = new URL(await brokerUrl());
    rootDb = await databaseUrl();
    if (!['127.0.0.1', 'localhost'].includes(broker.hostname)) throw new Error(`security test needs the local RabbitMQ (rabbitmqctl); broker is ${broker.hostname}`);
    await run('rabbitmqctl', ['add_user', user, secrets.rabbitPassword], { timeout: 30_000 });
    cleanups.push(() => run('rabbitmqctl', ['delete_user', user], { timeout: 30_000 }));
    await run('rabbitmqctl', ['set_permissions', '-p', decodeURIComponent(broker.pathname.slice(1)) || '/', user, '.*', '.*', '.*'], { timeout: 30_000 });
    await sql(`CREATE DATABASE \`${dbName}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`);
    cleanups.push(() => sql(`DROP DATABASE IF EXISTS \`${dbName}\``));
    await sql(`CREATE USER '${user}'@'localhost' IDENTIFIED BY '${secrets.dbPassword}'`);
    await sql(`CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY '${secrets.dbPassword}'`);
    cleanups.push(() => sql(`DROP USER IF EXISTS '${user}'@'localhost', '${user}'@'127.0.0.1'`));
    await sql(`GRANT ALL PRIVILEGES ON \`${dbName}\`.* TO '${user}'@'localhost', '${user}'@'127.0.0.1'`);
    await writeFile(tokenFile, [`${secrets.aliceToken} alice project-a`, `${secrets.bobToken} bob project-b`, `${secrets.adminToken} admin project-a admin`, ''].join('\n'));
    cleanups.push(() => import('node:fs/promises').then((fs) => fs.rm(tokenFile, { force: true })));
    const dbHost = new URL(rootDb);
    const transportUrl = `rabbit://${user}:${secrets.rabbitPassword}@${broker.host}${broker.pathname || '/'}`;
    const database = { url: `mysql://${user}:${secrets.dbPassword}@${dbHost.host}/${dbName}`, drop: async () => undefined };
    cloud = await startProcessCloud({
      transportUrl,
      databaseServerUrl: rootDb,
      database,
      adminToken: secrets.adminToken,
      settings: {
        DEFAULT: { debug: true },
        database: { sql_echo: true },
        api: { auth_strategy: 'tokens', token_file: tokenFile },
      },
    });
  }, 90_000);

  afterAll(async () => {
    summary.print();
    const codes = await cloud?.stop();
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error('cleanup failed', error));
    if (codes) expect(Object.values(codes).every((code) => code === 0)).toBe(true);
  }, 60_000);

  it('no password, admin password or token appears in any process log', async () => {
    const c = cloud!;
    const first = await c.boot('sec-1', { adminPass: secrets.adminPass }, secrets.aliceToken);
    const second = await c.boot('sec-2', {}, secrets.aliceToken);
    await waitSettled(c, [first, second], 30_000).then((servers) => expect([...servers.values()].map((s) => s?.status)).toEqual(['ACTIVE', 'ACTIVE']));
    const action = await c.request('POST', `/servers/${first}/action`, { changePassword: { adminPass: secrets.newPass } }, secrets.aliceToken);
    expect(action.status).toBe(202);
    await waitSettled(c, [first], 20_000);
    const rebuild = await c.request('POST', `/servers/${second}/action`, { rebuild: { imageRef: '928e2889-6359-40ef-b44c-0aa0b7394be1', adminPass: secrets.rebuildPass } }, secrets.aliceToken);
    expect(rebuild.status).toBe(202);
    await waitSettled(c, [second], 20_000);
    const list = await c.request('GET', '/servers/detail', undefined, secrets.aliceToken);
    expect(list.status).toBe(200);

    const logs = [...c.workers.values()].map((worker) => ({ name: worker.name, text: worker.lines.map((line) => JSON.stringify(line)).join('\n') + worker.stderr.join('') }));
    // The logs are there and verbose: debug lines and SQL statements from the workers.
    const all = logs.map((log) => log.text).join('\n');
    expect(all).toMatch(/"level":20/);
    expect(logs.find((log) => log.name === 'api')!.text).toMatch(/insert into `instances`/i);
    expect(all).toContain(first);
    const leaks = Object.entries(secrets).flatMap(([what, value]) => logs.filter((log) => log.text.includes(value)).map((log) => `${what} in ${log.name}`));
    summary.add({
      scenario: 'secrets in logs (debug + sql_echo)',
      sent: Object.keys(secrets).length,
      processed: Object.keys(secrets).length - leaks.length,
      lost: leaks.length,
      duplicated: 0,
      notes: `${logs.reduce((n, log) => n + log.text.split('\n').length, 0)} log lines of ${logs.length} processes searched${leaks.length ? `; LEAKS: ${leaks.join(', ')}` : ''}`,
    });
    expect(leaks).toEqual([]);
  }, 90_000);

  it('non-admin tokens get 403 on admin routes and filters; other projects get 404', async () => {
    const c = cloud!;
    const mine = await c.boot('sec-owned', { metadata: { owner: 'alice' } }, secrets.aliceToken);
    await waitSettled(c, [mine], 20_000);
    const checks: Array<[string, string, unknown, string, number]> = [
      ['GET', '/os-services', undefined, secrets.aliceToken, 403],
      ['PUT', '/os-services/disable', { host: 'cmp-a', binary: 'nova-compute' }, secrets.aliceToken, 403],
      ['GET', '/os-hypervisors', undefined, secrets.aliceToken, 403],
      ['GET', '/os-hypervisors/detail', undefined, secrets.bobToken, 403],
      ['GET', '/servers?all_tenants=1', undefined, secrets.bobToken, 403],
      ['GET', '/servers/detail?host=cmp-a', undefined, secrets.bobToken, 403],
      ['GET', `/servers/${mine}`, undefined, secrets.bobToken, 404],
      ['PUT', `/servers/${mine}`, { server: { name: 'stolen' } }, secrets.bobToken, 404],
      ['DELETE', `/servers/${mine}`, undefined, secrets.bobToken, 404],
      ['POST', `/servers/${mine}/action`, { reboot: { type: 'HARD' } }, secrets.bobToken, 404],
      ['POST', `/servers/${mine}/metadata`, { metadata: { owner: 'bob' } }, secrets.bobToken, 404],
      ['GET', `/servers/${mine}/ips`, undefined, secrets.bobToken, 404],
      ['GET', '/servers', undefined, 'not-a-token', 401],
      ['GET', '/os-services', undefined, secrets.adminToken, 200],
      ['GET', '/servers?all_tenants=1&host=cmp-a', undefined, secrets.adminToken, 200],
    ];
    const wrong: string[] = [];
    for (const [method, path, body, token, expected] of checks) {
      const answer = await c.request(method, path, body, token);
      if (answer.status !== expected) wrong.push(`${method} ${path}: ${answer.status} ${answer.text.slice(0, 200)}`);
    }
    const bobList = await c.request('GET', '/servers', undefined, secrets.bobToken);
    const after = await c.request('GET', `/servers/${mine}`, undefined, secrets.aliceToken);
    summary.add({ scenario: 'policy and project isolation', sent: checks.length, processed: checks.length - wrong.length, lost: wrong.length, duplicated: 0, notes: wrong.join('; ') });
    expect(wrong).toEqual([]);
    expect(bobList.body.servers).toEqual([]);
    expect(after.body.server).toMatchObject({ name: 'sec-owned', status: 'ACTIVE', metadata: { owner: 'alice' } });
  }, 60_000);
});
