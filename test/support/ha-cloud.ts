/**
 * A multi-process cloud with instance HA: network, scheduler, computes and the Compute
 * API (auth_strategy = keystone, the built-in Identity endpoint) as separate `novarpc`
 * processes on the real RabbitMQ and a MariaDB database of the test's own, plus
 * `novarpc ha-api`, `ha-engine` and `hostmonitor` processes. Helpers log in by password
 * and talk to both APIs; `stop()` removes everything, the HA engine's queues too.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../src/services/api/identity/users.js';
import { deleteBrokerObjects, suffix, type Worker } from '../services/processes.js';
import { readAnswer, startProcessCloud, type HttpAnswer, type ProcessCloud } from './process-cloud.js';
import { brokerUrl, databaseUrl } from './services.js';

/** The users of every HA cloud. */
export const HA_USERS = {
  admin: { name: 'admin', password: 'ha-admin-pw', project: 'admin-project' },
  alice: { name: 'alice', password: 'ha-alice-pw', project: 'project-a' },
} as const;

/** How to start it. */
export interface HaCloudOptions {
  computes: string[];
  /** Host monitor processes, named hostmonitor-1.. Default 2. */
  monitors?: number;
  /** Whether to start engine ha-engine-1 (default true). */
  engine?: boolean;
  /** Extra `key = value` lines per section. */
  settings?: Record<string, Record<string, string | number | boolean>>;
}

/** A running HA cloud. */
export interface HaCloud {
  cloud: ProcessCloud;
  /** `http://127.0.0.1:PORT` of the Compute API (and Identity at /identity/v3). */
  base: string;
  /** `http://127.0.0.1:PORT/v1` of the instance HA API. */
  haUrl: string;
  /** An admin token (renewed by {@link login}). */
  adminToken: string;
  login(user: { name: string; password: string; project: string }): Promise<string>;
  /** Compute API as the admin. */
  compute(method: string, path: string, body?: unknown): Promise<HttpAnswer>;
  /** Instance HA API; token default the admin's; headers e.g. the microversion. */
  ha(method: string, path: string, body?: unknown, options?: { token?: string | null; version?: string }): Promise<HttpAnswer>;
  /** The OS_* environment of a user for the python clients. */
  env(user: { name: string; password: string; project: string }): Record<string, string>;
  /** Starts a worker by name (ha-engine-2, hostmonitor-3, compute-x). */
  start(name: string): Worker;
  stop(): Promise<void>;
}

/** Starts the cloud, logs the admin in and waits for the computes and HA services. */
export async function startHaCloud(options: HaCloudOptions): Promise<HaCloud> {
  const dir = await mkdtemp(join(tmpdir(), 'novarpc-ha-'));
  const usersFile = join(dir, 'users');
  const { admin, alice } = HA_USERS;
  await writeFile(usersFile, `${admin.name} ${await hashPassword(admin.password)} ${admin.project} admin\n${alice.name} ${alice.password} ${alice.project}\n`, { mode: 0o600 });
  const haPort = await quietPort();
  const topic = `ha_engine_${suffix()}`;
  const cloud = await startProcessCloud({
    transportUrl: await brokerUrl(),
    databaseServerUrl: await databaseUrl(),
    computes: options.computes,
    waitUp: false,
    settings: {
      ...options.settings,
      DEFAULT: { service_down_time: 5, ...options.settings?.DEFAULT },
      api: { auth_strategy: 'keystone', ...options.settings?.api },
      identity: { users_file: usersFile, ...options.settings?.identity },
      ha: {
        enabled: true, listen: '127.0.0.1', listen_port: haPort, username: admin.name, password: admin.password, project: admin.project,
        topic, host_down_time: 5, engine_lease_time: 4, evacuate_timeout: 30, ...options.settings?.ha,
      },
    },
  });
  const base = cloud.endpoint.replace(/\/v2\.1$/, '');
  const haUrl = `http://127.0.0.1:${haPort}/v1`;
  const call = async (url: string, method: string, body: unknown, headers: Record<string, string>): Promise<HttpAnswer> => {
    const init = { method, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }, body: body === undefined ? undefined : JSON.stringify(body) };
    return readAnswer(await fetch(url, init));
  };
  const login = async (user: { name: string; password: string; project: string }) => {
    const domain = { id: 'default' };
    const response = await fetch(`${base}/identity/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: user.name, domain, password: user.password } } }, scope: { project: { name: user.project, domain } } } }),
    });
    const token = response.headers.get('x-subject-token');
    if (response.status !== 201 || !token) throw new Error(`login ${user.name}: ${response.status}`);
    return token;
  };
  const ha: HaCloud = {
    cloud,
    base,
    haUrl,
    adminToken: '',
    login,
    compute: (method, path, body) => call(`${base}/v2.1${path}`, method, body, { 'x-auth-token': ha.adminToken, 'x-openstack-nova-api-version': '2.53' }),
    ha: (method, path, body, opts = {}) => {
      const token = opts.token === undefined ? ha.adminToken : opts.token;
      return call(`${haUrl}${path}`, method, body, { ...(token ? { 'x-auth-token': token } : {}), ...(opts.version ? { 'openstack-api-version': `instance-ha ${opts.version}` } : {}) });
    },
    env: (user) => ({
      OS_AUTH_URL: `${base}/identity/v3`, OS_USERNAME: user.name, OS_PASSWORD: user.password, OS_PROJECT_NAME: user.project,
      OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_IDENTITY_API_VERSION: '3', OS_INTERFACE: 'public',
    }),
    start: (name) => cloud.start(name),
    stop: async () => {
      await cloud.stop();
      await deleteBrokerObjects(cloud.transportUrl, [topic, ...[1, 2, 3].map((n) => `${topic}.ha-engine-${n}`), `${topic}.ha-api-host`], []).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  const deadlineNow = { value: false };
  try {
    ha.adminToken = await waitFor(async () => {
      const api = cloud.workers.get('api')!;
      if (api.process.exitCode !== null) return Promise.reject(new Error(`api exited: ${api.stderr.join('').slice(-2000)}`)).finally(() => (deadlineNow.value = true));
      return login(admin);
    }, 120_000, 'the Identity endpoint', deadlineNow);
    const names = ['ha-api', ...(options.engine === false ? [] : ['ha-engine-1']), ...Array.from({ length: options.monitors ?? 2 }, (_, i) => `hostmonitor-${i + 1}`)];
    for (const name of names) cloud.start(name);
    let exited: Error | undefined;
    await waitFor(async () => {
      if (exited) return true;
      const services = (await ha.compute('GET', '/os-services')).body?.services ?? [];
      const up = services.filter((s: { state: string }) => s.state === 'up').length;
      const expected = 3 + options.computes.length + names.length;
      for (const worker of cloud.workers.values()) {
        if (worker.process.exitCode !== null) exited ??= new Error(`${worker.name} exited: ${worker.stderr.join('').slice(-2000)}`);
      }
      if (exited) return true;
      if (up < expected || (await ha.ha('GET', '/')).status !== 200) throw new Error(`${up}/${expected} services up`);
      return true;
    }, 90_000, 'every service');
    if (exited) throw exited;
  } catch (error) {
    await ha.stop();
    throw error;
  }
  return ha;
}

/**
 * A free port below the kernel's ephemeral range (32768+): the HA API binds it only after
 * the other processes started, and an ephemeral port could be taken meanwhile by any
 * outgoing connection on this shared machine.
 */
async function quietPort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/** Retries `fn` every 250 ms until it resolves or the deadline passes (or `giveUp` is set): then its last error. */
export async function waitFor<T>(fn: () => Promise<T>, timeoutMs: number, what: string, giveUp: { value: boolean } = { value: false }): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline || giveUp.value) throw new Error(`waiting for ${what}: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
