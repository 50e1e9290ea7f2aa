/**
 * Configuration: flags over NOVARPC_* env over a nova.conf-style file over defaults,
 * --help documenting every option, and docker-compose.yml passing settings the CLI's
 * loader accepts.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/cli/config.js';
import { buildProgram } from '../../src/cli/main.js';
import { envName, flagName, OPTIONS, optionsFor } from '../../src/cli/options.js';

const ROOT = resolve(import.meta.dirname, '../..');

const NOVA_CONF = `
[DEFAULT]
transport_url = rabbit://nova:pw@mq1:5672,nova:pw@mq2:5672/nova
control_exchange = nova
report_interval = 5
service_down_time = 30
host = compute7
some_nova_option = ignored

[database]
connection = mysql://nova:pw@db/nova
sql_echo = true

[api]
osapi_compute_listen_port = 9774

[fake_driver]
spawn_time = 250
`;

describe('configuration', () => {
  it('reads a nova.conf-style file: sections, nova aliases, and warns about unknown keys', () => {
    const { config, warnings } = loadConfig({ iniText: NOVA_CONF });
    expect(config).toMatchObject({
      transportUrl: 'rabbit://nova:pw@mq1:5672,nova:pw@mq2:5672/nova',
      controlExchange: 'nova',
      reportInterval: 5,
      serviceDownTime: 30,
      host: 'compute7',
      databaseConnection: 'mysql://nova:pw@db/nova',
      sqlEcho: true,
      api: { port: 9774 },
      fakeDriver: { spawnTimeMs: 250 },
    });
    expect(warnings).toEqual([expect.stringContaining('some_nova_option')]);
  });

  it('flags win over NOVARPC_* env, which wins over the file, which wins over defaults', () => {
    const { config } = loadConfig({
      defaults: { reportInterval: 1, autoMigrate: false },
      iniText: NOVA_CONF,
      env: { NOVARPC_REPORT_INTERVAL: '7', NOVARPC_HOST: 'from-env', NOVARPC_DATABASE_SQL_ECHO: 'false', UNRELATED: 'x' },
      flags: { host: 'from-flag' },
    });
    expect(config).toMatchObject({ reportInterval: 7, host: 'from-flag', sqlEcho: false, autoMigrate: false, controlExchange: 'nova' });
    expect(loadConfig({}).config).toMatchObject({ transportUrl: 'memory://', controlExchange: 'nova', reportInterval: 10, serviceDownTime: 60 });
  });

  it('a value of the wrong type is an error naming the option and its source', () => {
    expect(() => loadConfig({ env: { NOVARPC_REPORT_INTERVAL: 'soon' } })).toThrow(/NOVARPC_REPORT_INTERVAL.*report_interval must be a number/);
    expect(() => loadConfig({ iniText: '[database]\nsql_echo = maybe\n' })).toThrow(/\[database\] sql_echo.*true or false/);
    expect(() => loadConfig({ flags: { 'api-auth-strategy': 'magic' } })).toThrow(/auth_strategy/);
  });

  it('--help of every service command documents every option it uses with its env name, and no other', () => {
    const program = buildProgram();
    for (const name of ['api', 'scheduler', 'compute', 'network', 'all', 'demo']) {
      const help = program.commands.find((command) => command.name() === name)!.helpInformation();
      for (const option of OPTIONS.filter((candidate) => !candidate.iniOnly)) {
        const uses = optionsFor(name).includes(option);
        expect(help.includes(`${flagName(option)} `), `${name} ${flagName(option)}`).toBe(uses);
        if (uses) expect(help).toContain(envName(option));
      }
      expect(help).toContain('--config-file');
    }
    const allHelp = program.commands.find((command) => command.name() === 'all')!.helpInformation();
    for (const option of OPTIONS.filter((candidate) => !candidate.iniOnly)) expect(allHelp).toContain(flagName(option));
  });

  it('each worker lists only its own options: no [api] options for compute, no [fake_driver] for the api', () => {
    const help = (name: string) => buildProgram().commands.find((command) => command.name() === name)!.helpInformation();
    expect(help('compute')).not.toMatch(/--api-|allow-insecure-noauth/);
    expect(help('compute')).toContain('--fake-driver-spawn-time');
    expect(help('api')).not.toMatch(/--fake-driver-|--scheduler-max-attempts|--instance-build-timeout/);
    expect(help('api')).toContain('--api-auth-strategy');
    expect(help('scheduler')).not.toMatch(/--api-|--fake-driver-/);
    expect(help('network')).not.toMatch(/--api-|--fake-driver-|--scheduler-max-attempts/);
    expect(help('db-sync')).not.toMatch(/--transport-url|--api-|--fake-driver-|--report-interval/);
    expect(help('db-sync')).toContain('--database-connection');
  });

  it('docker-compose.yml runs rabbitmq, mysql and five workers with settings the CLI accepts', () => {
    const compose = parse(readFileSync(resolve(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { command?: string[]; environment?: Record<string, string>; healthcheck?: { test: string[] }; build?: string; depends_on?: Record<string, unknown> }>;
    };
    const services = compose.services;
    expect(Object.keys(services).sort()).toEqual(['api', 'compute1', 'compute2', 'db-sync', 'mysql', 'network', 'rabbitmq', 'scheduler']);
    const commands = new Set(buildProgram().commands.map((command) => command.name()));
    const hosts = new Map<string, string>();
    for (const [name, service] of Object.entries(services)) {
      expect(service.healthcheck ?? name === 'db-sync', `${name} has a healthcheck`).toBeTruthy();
      if (!service.command) continue;
      expect(service.build, `${name} is built from the Dockerfile`).toBe('.');
      const [subcommand, ...args] = service.command;
      expect(commands.has(subcommand!), `${name}: novarpc ${subcommand}`).toBe(true);
      const flags = flagsOf(args);
      const known = new Set(optionsFor(subcommand!).filter((option) => !option.iniOnly).map((option) => flagName(option).slice(2)));
      for (const flag of Object.keys(flags)) expect(known.has(flag), `${name}: --${flag}`).toBe(true);
      const { config, warnings } = loadConfig({ env: service.environment, flags, defaults: {}, runsApi: subcommand === 'api', requireDatabase: 'bus' });
      expect(warnings).toEqual([]);
      expect(new URL(config.transportUrl.replace(/^rabbit:/, 'amqp:')).hostname).toBe('rabbitmq');
      expect(new URL(config.databaseConnection).hostname).toBe('mysql');
      if (subcommand !== 'db-sync') {
        expect(service.depends_on).toHaveProperty('db-sync');
        hosts.set(name, config.host);
      }
      const check = service.healthcheck?.test ?? [];
      if (check.includes('check')) {
        expect(['scheduler', 'network', 'compute']).toContain(check[check.indexOf('check') + 1]);
        expect(check[check.indexOf('--host') + 1]).toBe(config.host);
      }
    }
    expect(hosts.get('compute1')).toBe('compute1');
    expect(hosts.get('compute2')).toBe('compute2');
    const mysqlEnv = services.mysql!.environment!;
    const databaseUrl = new URL(services.api!.environment!.NOVARPC_DATABASE_CONNECTION!);
    expect([databaseUrl.username, decodeURIComponent(databaseUrl.password), databaseUrl.pathname.slice(1)]).toEqual([mysqlEnv.MYSQL_USER, mysqlEnv.MYSQL_PASSWORD, mysqlEnv.MYSQL_DATABASE]);
    const transportUrl = new URL(services.api!.environment!.NOVARPC_TRANSPORT_URL!.replace(/^rabbit:/, 'amqp:'));
    expect([transportUrl.username, transportUrl.password]).toEqual([services.rabbitmq!.environment!.RABBITMQ_DEFAULT_USER, services.rabbitmq!.environment!.RABBITMQ_DEFAULT_PASS]);
  });

  it("the README's deployment nova.conf is accepted for the API as it is, and only because it uses tokens off loopback", () => {
    const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
    const iniText = /```ini\n(# \/etc\/novarpc\/nova\.conf\n[\s\S]*?)```/.exec(readme)![1]!;
    const { config, warnings } = loadConfig({ iniText, runsApi: true, requireDatabase: 'bus' });
    expect(warnings).toEqual([]);
    expect(config.api).toMatchObject({ listen: '0.0.0.0', authStrategy: 'tokens' });
    expect(() => loadConfig({ iniText: iniText.replace(/auth_strategy = tokens\n/, ''), runsApi: true })).toThrow(/allow_insecure_noauth/);
  });

  it('the Dockerfile runs the compiled CLI that package.json names as the bin', () => {
    const dockerfile = readFileSync(resolve(ROOT, 'Dockerfile'), 'utf8');
    const bin = (JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { bin: { novarpc: string } }).bin.novarpc;
    expect(dockerfile).toContain(`ENTRYPOINT ["node", "${bin}"]`);
    expect(readFileSync(resolve(ROOT, 'src/cli/main.ts'), 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
  });
});

/** `--flag value` pairs (a bool flag may stand alone) as the loader's flag record. */
function flagsOf(args: readonly string[]): Record<string, string> {
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const next = args[i + 1];
    if (next === undefined || next.startsWith('--')) flags[arg.slice(2)] = 'true';
    else {
      flags[arg.slice(2)] = next;
      i++;
    }
  }
  return flags;
}
