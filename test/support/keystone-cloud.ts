/**
 * `novarpc all` with `auth_strategy = keystone` on the real RabbitMQ and a MariaDB database
 * of the test's own: a users file (admin, alice and bob in two projects, one password
 * hashed with scrypt), the built-in Identity endpoint on the API's port, and helpers for
 * the Python clients (the OS_* environment) and raw HTTP (tokens by password).
 * `stop()` stops the process and removes the queues, exchange, database and temp dir.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../src/services/api/identity/users.js';
import { createDatabase, deleteBrokerObjects, freePort, startWorker, suffix, type Worker } from '../services/processes.js';
import { brokerUrl, databaseUrl } from './services.js';

/** A user of the users file. */
export interface CloudUser {
  name: string;
  password: string;
  project: string;
  admin: boolean;
}

/** The users every keystone cloud has. */
export const KEYSTONE_USERS = {
  admin: { name: 'admin', password: 'admin-pw-1', project: 'admin-project', admin: true },
  alice: { name: 'alice', password: 'alice-pw-2', project: 'project-a', admin: false },
  bob: { name: 'bob', password: 'bob-pw-3', project: 'project-b', admin: false },
} as const satisfies Record<string, CloudUser>;

/** How to start the cloud. */
export interface KeystoneCloudOptions {
  /** Seconds a token lives (`[identity] token_expiration`). Default 3600. */
  tokenExpiration?: number;
  /** Extra `novarpc compute --host NAME` processes next to `novarpc all`. Default none. */
  extraComputes?: string[];
  /** Extra `key = value` lines per section. */
  settings?: Record<string, Record<string, string | number | boolean>>;
}

/** An HTTP answer. */
export interface KeystoneAnswer {
  status: number;
  headers: Headers;
  body: any;
}

/** A running keystone cloud. */
export interface KeystoneCloud {
  /** `http://127.0.0.1:PORT` (the public endpoint). */
  base: string;
  /** `<base>/identity/v3`. */
  authUrl: string;
  /** `<base>/v2.1`. */
  computeUrl: string;
  /** The host of the `novarpc all` process (its compute too). */
  host: string;
  users: typeof KEYSTONE_USERS;
  workers: Worker[];
  /** The OS_* variables openstackclient, the nova CLI and openstacksdk read, for one user. */
  env(user: CloudUser): Record<string, string>;
  /** A v3 project-scoped token for the user (POST /identity/v3/auth/tokens). */
  token(user: CloudUser): Promise<string>;
  /** Raw HTTP against `<base><path>`. */
  request(method: string, path: string, options?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<KeystoneAnswer>;
  stop(): Promise<void>;
}

/** Starts the cloud and waits until the API answers and the compute service is up. */
export async function startKeystoneCloud(options: KeystoneCloudOptions = {}): Promise<KeystoneCloud> {
  const id = suffix();
  const transportUrl = await brokerUrl();
  const database = await createDatabase(await databaseUrl(), 'novarpc_ks');
  const dir = await mkdtemp(join(tmpdir(), 'novarpc-keystone-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const host = `ks-${id}`;
  const exchange = `nova_ks_${id}`;
  const topics = { scheduler: `scheduler_${id}`, compute: `compute_${id}`, network: `network_${id}` };
  const usersFile = join(dir, 'users');
  const { admin, alice, bob } = KEYSTONE_USERS;
  await writeFile(usersFile, [
    '# USER PASSWORD PROJECT [admin]',
    `${admin.name} ${await hashPassword(admin.password)} ${admin.project} admin`,
    `${alice.name} ${alice.password} ${alice.project}`,
    `${bob.name} ${await hashPassword(bob.password)} ${bob.project}`,
    '',
  ].join('\n'), { mode: 0o600 });
  const sections: Record<string, Record<string, string | number | boolean>> = {
    DEFAULT: {
      host, transport_url: transportUrl, control_exchange: exchange, scheduler_topic: topics.scheduler, compute_topic: topics.compute,
      network_topic: topics.network, report_interval: 1, service_down_time: 6, periodic_interval: 2, graceful_shutdown_timeout: 5,
      rpc_response_timeout: 20, ...options.settings?.DEFAULT,
    },
    database: { connection: database.url, max_pool_size: 5, ...options.settings?.database },
    api: { listen: '127.0.0.1', listen_port: port, auth_strategy: 'keystone', public_endpoint: base, ...options.settings?.api },
    identity: { users_file: usersFile, token_expiration: options.tokenExpiration ?? 3600, ...options.settings?.identity },
    quota: { ...options.settings?.quota },
    notifications: { driver: 'noop' },
    fake_driver: { spawn_time: 50, ...options.settings?.fake_driver },
  };
  const configFile = join(dir, 'nova.conf');
  await writeFile(configFile, Object.entries(sections).map(([name, values]) => [`[${name}]`, ...Object.entries(values).map(([k, v]) => `${k} = ${v}`), ''].join('\n')).join('\n'));

  const workers: Worker[] = [startWorker('all', ['all', '--config-file', configFile], {})];
  const request: KeystoneCloud['request'] = async (method, path, { token, body, headers = {} } = {}) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { ...(token ? { 'x-auth-token': token } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: response.status, headers: response.headers, body: parsed };
  };
  const token = async (user: CloudUser) => {
    const answer = await request('POST', '/identity/v3/auth/tokens', {
      body: {
        auth: {
          identity: { methods: ['password'], password: { user: { name: user.name, domain: { id: 'default' }, password: user.password } } },
          scope: { project: { name: user.project, domain: { id: 'default' } } },
        },
      },
    });
    const issued = answer.headers.get('x-subject-token');
    if (answer.status !== 201 || !issued) throw new Error(`login of ${user.name}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return issued;
  };
  const stop = async () => {
    for (const worker of workers) await worker.stop();
    await database.drop().catch(() => undefined);
    const queues = [topics.scheduler, `${topics.scheduler}.${host}`, topics.network, `${topics.network}.${host}`, topics.compute, `${topics.compute}.${host}`];
    for (const extra of options.extraComputes ?? []) queues.push(`${topics.compute}.${extra}`);
    await deleteBrokerObjects(transportUrl, queues, [exchange]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  const env = (user: CloudUser): Record<string, string> => ({
    OS_AUTH_URL: `${base}/identity/v3`,
    OS_USERNAME: user.name,
    OS_PASSWORD: user.password,
    OS_PROJECT_NAME: user.project,
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
    OS_IDENTITY_API_VERSION: '3',
    OS_INTERFACE: 'public',
  });

  try {
    await waitUntilReady(workers[0]!, async () => {
      const services = await request('GET', '/v2.1/os-services?binary=nova-compute', { token: await token(admin) });
      return (services.body?.services ?? []).filter((s: { state: string }) => s.state === 'up').length >= 1;
    });
    for (const extra of options.extraComputes ?? []) workers.push(startWorker(`compute-${extra}`, ['compute', '--host', extra, '--config-file', configFile], {}));
  } catch (error) {
    await stop();
    throw error;
  }
  return { base, authUrl: `${base}/identity/v3`, computeUrl: `${base}/v2.1`, host, users: KEYSTONE_USERS, workers, env, token, request, stop };
}

async function waitUntilReady(worker: Worker, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (await ready().catch(() => false)) return;
    if (worker.process.exitCode !== null) throw new Error(`novarpc all exited: ${worker.stderr.join('').slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`novarpc all not ready: ${worker.stderr.join('').slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}
