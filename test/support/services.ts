/**
 * Where the integration tests find RabbitMQ and MariaDB/MySQL.
 *
 * Order of preference, for each service:
 *   1. an explicit URL in the environment (NOVARPC_TEST_TRANSPORT_URL, NOVARPC_TEST_DATABASE_URL);
 *   2. a throw-away container started once per run by the global setup (testcontainers),
 *      when a Docker engine is there and no URL was given;
 *   3. the local default (rabbit://guest:guest@127.0.0.1:5672/, mysql://root@127.0.0.1:3306/test).
 *
 * Whatever is chosen must answer. A missing broker or database fails the suite with a
 * message that says what was tried: it is never a silent skip.
 */
import { existsSync } from 'node:fs';
import { canConnect } from './net.js';

const LOCAL_BROKER = 'rabbit://guest:guest@127.0.0.1:5672/';
const LOCAL_DATABASE = 'mysql://root@127.0.0.1:3306/test';

let brokerPromise: Promise<string> | undefined;
let databasePromise: Promise<string> | undefined;

/** The transport URL of a reachable RabbitMQ, or a rejected promise that says why not. */
export function brokerUrl(): Promise<string> {
  brokerPromise ??= resolveService({
    envName: 'NOVARPC_TEST_TRANSPORT_URL',
    localUrl: LOCAL_BROKER,
    defaultPort: 5672,
    what: 'RabbitMQ',
    hint: 'start it with `rabbitmq-server -detached` or set NOVARPC_TEST_TRANSPORT_URL',
  });
  return brokerPromise;
}

/** The URL of a reachable MariaDB/MySQL database, or a rejected promise that says why not. */
export function databaseUrl(): Promise<string> {
  databasePromise ??= resolveService({
    envName: 'NOVARPC_TEST_DATABASE_URL',
    localUrl: LOCAL_DATABASE,
    defaultPort: 3306,
    what: 'MariaDB/MySQL',
    hint: 'start it with `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd` or set NOVARPC_TEST_DATABASE_URL',
  });
  return databasePromise;
}

interface ServiceSpec {
  envName: string;
  localUrl: string;
  defaultPort: number;
  what: string;
  hint: string;
}

async function resolveService(spec: ServiceSpec): Promise<string> {
  const fromEnv = process.env[spec.envName];
  const url = fromEnv ?? spec.localUrl;
  const { host, port } = firstHost(url, spec.defaultPort);
  const reachable = await canConnect(host, port, 3000);
  if (!reachable) {
    throw new Error(
      `${spec.what} is not reachable at ${host}:${port} (from ${fromEnv ? spec.envName : 'the local default'}); ` +
        `integration tests need it: ${spec.hint}`,
    );
  }
  return url;
}

function firstHost(url: string, defaultPort: number): { host: string; port: number } {
  const afterScheme = url.replace(/^[a-z0-9+]+:\/\//i, '');
  const authority = afterScheme.split('/')[0]!.split(',')[0]!;
  const hostPort = authority.includes('@') ? authority.slice(authority.lastIndexOf('@') + 1) : authority;
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort);
  return {
    host: (match?.[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''),
    port: match?.[2] ? Number(match[2]) : defaultPort,
  };
}

/** True when a Docker engine may answer; the global setup then starts containers. */
export function dockerAvailable(): boolean {
  if (process.env.NOVARPC_TEST_NO_CONTAINERS) return false;
  return Boolean(process.env.DOCKER_HOST) || existsSync('/var/run/docker.sock');
}


/**
 * Vitest global setup: when Docker is there and no URL was given, start RabbitMQ and
 * MariaDB containers once for the whole run and hand their URLs to the test files
 * through the environment. Returns the teardown.
 */
export async function startContainersIfNeeded(): Promise<() => Promise<void>> {
  const stops: Array<() => Promise<unknown>> = [];
  if (!dockerAvailable()) return async () => {};
  if (!process.env.NOVARPC_TEST_TRANSPORT_URL) {
    const started = await startRabbitContainer();
    process.env.NOVARPC_TEST_TRANSPORT_URL = started.url;
    stops.push(started.stop);
  }
  if (!process.env.NOVARPC_TEST_DATABASE_URL) {
    const started = await startMysqlContainer();
    process.env.NOVARPC_TEST_DATABASE_URL = started.url;
    stops.push(started.stop);
  }
  return async () => {
    await Promise.all(stops.map((stop) => stop()));
  };
}

interface StartedContainer {
  url: string;
  stop: () => Promise<unknown>;
}

async function startRabbitContainer(): Promise<StartedContainer> {
  const { RabbitMQContainer } = await import('@testcontainers/rabbitmq');
  const container = await new RabbitMQContainer('rabbitmq:3.13-management').start();
  return {
    url: `rabbit://guest:guest@${container.getHost()}:${container.getMappedPort(5672)}/`,
    stop: () => container.stop(),
  };
}

async function startMysqlContainer(): Promise<StartedContainer> {
  const { MySqlContainer } = await import('@testcontainers/mysql');
  const container = await new MySqlContainer('mariadb:10.11').withDatabase('test').withRootPassword('root').start();
  return {
    url: `mysql://root:root@${container.getHost()}:${container.getMappedPort(3306)}/test`,
    stop: () => container.stop(),
  };
}
