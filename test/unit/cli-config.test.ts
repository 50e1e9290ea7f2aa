/**
 * Configuration that means what it says: a stock nova.conf (oslo sections, Nova's
 * [database] names) is read into the options the transport URL sets, every bad value
 * is reported in one pass, stray NOVARPC_* variables are named, a separate service
 * refuses to start without a database, and noauth2 stays on loopback unless allowed.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/cli/config.js';
import { silentLogger } from '../../src/log/logger.js';
import { openTransport } from '../../src/services/runtime.js';
import { novaDocConf } from '../support/nova-conf.js';

const NOVA_DOC_CONF = novaDocConf();

describe('a stock nova.conf', () => {
  it('reads [oslo_messaging_rabbit], [oslo_messaging_notifications], [database] and [DEFAULT] with their oslo and Nova names', () => {
    const { config } = loadConfig({ iniText: NOVA_DOC_CONF, requireDatabase: 'bus', runsApi: false });
    expect(config).toMatchObject({
      transportUrl: 'rabbit://openstack:RABBIT_PASS@controller:5672/',
      rpcResponseTimeout: 90,
      executorPoolSize: 32,
      databaseConnection: 'mysql+pymysql://nova:NOVA_DBPASS@controller/nova',
      sqlEcho: true,
      dbMaxPoolSize: 20,
      dbMaxRetries: -1,
      dbRetryInterval: 5,
      notificationDriver: 'messagingv2',
      notificationTopics: ['notifications', 'audit'],
    });
    expect(config.transportOptions).toEqual({
      rabbit_quorum_queue: false,
      amqp_durable_queues: true,
      amqp_auto_delete: false,
      rabbit_ha_queues: false,
      rabbit_qos_prefetch_count: 10,
      heartbeat_timeout_threshold: 30,
      rabbit_retry_interval: 2,
      rabbit_retry_backoff: 3,
      rabbit_interval_max: 20,
      kombu_reconnect_delay: 0.5,
      kombu_failover_strategy: 'shuffle',
      kombu_missing_consumer_retry_timeout: 30,
      rabbit_transient_queues_ttl: 600,
      rabbit_quorum_delivery_limit: 7,
      ssl: false,
    });
  });

  it('gives the transport those options, the URL query winning over the file', async () => {
    const { config } = loadConfig({
      iniText: NOVA_DOC_CONF,
      runsApi: false,
      flags: { 'transport-url': 'rabbit://openstack:RABBIT_PASS@controller:5672/?rabbit_qos_prefetch_count=3&rpc_response_timeout=15' },
    });
    const transport = openTransport(config, silentLogger());
    try {
      expect(transport.options).toMatchObject({
        rabbit_quorum_queue: false,
        amqp_durable_queues: true,
        kombu_failover_strategy: 'shuffle',
        heartbeat_timeout_threshold: 30,
        rabbit_qos_prefetch_count: 3,
        rpc_response_timeout: 15,
        executor_thread_pool_size: 32,
      });
    } finally {
      await transport.close();
    }
  });

  it('reports the options novarpc does not use once, as read and not used, without their values', () => {
    const { warnings } = loadConfig({ iniText: NOVA_DOC_CONF, runsApi: false });
    expect(warnings).toHaveLength(1);
    const [notice] = warnings;
    expect(notice).toMatch(/read, not used by novarpc/);
    for (const name of ['[glance]', '[keystone_authtoken]', '[placement]', '[oslo_messaging_rabbit] heartbeat_rate', '[DEFAULT] my_ip', '[database] connection_recycle_time']) {
      expect(notice).toContain(name);
    }
    for (const secret of ['NOVA_PASS', 'PLACEMENT_PASS', 'NOVA_DBPASS']) expect(notice).not.toContain(secret);
  });

  it('its auth_strategy = keystone without an [identity] users_file is an error only for the process that runs the API', () => {
    expect(() => loadConfig({ iniText: NOVA_DOC_CONF, runsApi: true })).toThrow(/auth_strategy = keystone needs identity.users_file/);
  });

  it('the default, with no [oslo_messaging_rabbit], is quorum queues', () => {
    const { config } = loadConfig({ iniText: '[DEFAULT]\ntransport_url = rabbit://u:p@mq/\n' });
    const transport = openTransport(config, silentLogger());
    expect(transport.options.rabbit_quorum_queue).toBe(true);
    return transport.close();
  });
});

describe('bad configuration', () => {
  it('reports every bad value of a file (and of env and flags) in one error', () => {
    const text = [
      '[DEFAULT]',
      'report_interval = soon',
      '[api]',
      'listen_port = eighty',
      '[database]',
      'max_pool_size = many',
      '[oslo_messaging_rabbit]',
      'rabbit_quorum_queue = perhaps',
      'rabbit_qos_prefetch_count = -4',
      'kombu_failover_strategy = random',
    ].join('\n');
    let error: unknown;
    try {
      loadConfig({ iniText: text, env: { NOVARPC_SERVICE_DOWN_TIME: 'later' }, flags: { 'api-max-count': 'lots' } });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems, code } = error as ConfigError;
    expect(code).toBe('INVALID_CONFIG');
    const expected = ['report_interval', 'listen_port', 'max_pool_size', 'rabbit_quorum_queue', 'rabbit_qos_prefetch_count', 'kombu_failover_strategy', 'NOVARPC_SERVICE_DOWN_TIME', '--api-max-count'];
    for (const name of expected) expect(problems.some((problem) => problem.includes(name)), name).toBe(true);
    expect(problems).toHaveLength(expected.length);
  });

  it('a misspelt key is a warning naming the option meant', () => {
    const { warnings } = loadConfig({ iniText: '[api]\nlisen = 127.0.0.2\n[oslo_messaging_rabbit]\nrabbit_quorum_queu = false\n' });
    expect(warnings).toContain('config: [api] lisen is not a novarpc option and is ignored; did you mean listen?');
    expect(warnings).toContain('config: [oslo_messaging_rabbit] rabbit_quorum_queu is not a novarpc option and is ignored; did you mean rabbit_quorum_queue?');
    const notifications = loadConfig({ iniText: '[oslo_messaging_notifications]\ntopic = x\n' }).warnings;
    expect(notifications).toEqual(['config: [oslo_messaging_notifications] topic is not a novarpc option and is ignored; did you mean topics?']);
  });

  it('a missing --config-file says "no such file" with its path', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'novarpc-conf-')), 'nova.conf');
    expect(() => loadConfig({ configFile: path })).toThrow(`--config-file ${path}: no such file`);
    expect(() => loadConfig({ configFile: path })).not.toThrow(/ENOENT/);
    writeFileSync(path, '[DEFAULT]\nreport_interval = 3\n');
    expect(loadConfig({ configFile: path }).config.reportInterval).toBe(3);
  });
});

describe('NOVARPC_* variables', () => {
  it('NOVARPC_DATABASE_URL, which the README used to show, sets [database] connection; NOVARPC_DATABASE_CONNECTION wins', () => {
    expect(loadConfig({ env: { NOVARPC_DATABASE_URL: 'mysql://u:p@db1/nova' } }).config.databaseConnection).toBe('mysql://u:p@db1/nova');
    const both = loadConfig({ env: { NOVARPC_DATABASE_URL: 'mysql://u:p@db1/a', NOVARPC_DATABASE_CONNECTION: 'mysql://u:p@db1/b' } });
    expect(both.config.databaseConnection).toBe('mysql://u:p@db1/b');
    expect(both.warnings).toEqual([]);
  });

  it('warns about every variable that is no option, naming the closest real one', () => {
    const { warnings } = loadConfig({ env: { NOVARPC_TRANSPORT_UR: 'rabbit://', NOVARPC_DATABSE_CONNECTION: 'mysql://x/y', NOVARPC_REPORT_INTERVALL: '5', PATH: '/bin' } });
    expect(warnings).toEqual([
      'environment variable NOVARPC_DATABSE_CONNECTION is not a novarpc option and is ignored; did you mean NOVARPC_DATABASE_CONNECTION?',
      'environment variable NOVARPC_REPORT_INTERVALL is not a novarpc option and is ignored; did you mean NOVARPC_REPORT_INTERVAL?',
      'environment variable NOVARPC_TRANSPORT_UR is not a novarpc option and is ignored; did you mean NOVARPC_TRANSPORT_URL?',
    ]);
  });

  it('the variables of the tests, the benchmarks and the client commands are not warned about', () => {
    const env = {
      NOVARPC_TEST_TRANSPORT_URL: 'rabbit://',
      NOVARPC_TEST_DATABASE_URL: 'mysql://',
      NOVARPC_TEST_LOG_LEVEL: 'debug',
      NOVARPC_TEST_NO_CONTAINERS: '1',
      NOVARPC_BENCH_TRANSPORT_URL: 'rabbit://',
      NOVARPC_BENCH_DATABASE_URL: 'mysql://',
      NOVARPC_ENDPOINT: 'http://127.0.0.1:8774/v2.1',
      NOVARPC_TOKEN: 'demo:demo',
    };
    expect(loadConfig({ env }).warnings).toEqual([]);
  });
});

describe('a separate service needs a database', () => {
  const bus = { 'transport-url': 'rabbit://guest:guest@127.0.0.1:5672/' };

  it('refuses a rabbit:// service without [database] connection, naming it', () => {
    expect(() => loadConfig({ flags: bus, requireDatabase: 'bus' })).toThrow(/no database configured: set \[database\] connection/);
  });

  it('accepts one given anywhere (file, variable, flag), and memory:// without one', () => {
    expect(loadConfig({ flags: bus, iniText: '[database]\nconnection = mysql://u:p@db/nova\n', requireDatabase: 'bus' }).config.databaseConnection).toBe('mysql://u:p@db/nova');
    expect(loadConfig({ flags: { ...bus, 'database-connection': 'sqlite:///tmp/x.db' }, requireDatabase: 'bus' }).config.databaseConnection).toBe('sqlite:///tmp/x.db');
    expect(loadConfig({ env: { NOVARPC_DATABASE_CONNECTION: 'mysql://u:p@db/nova' }, flags: bus, requireDatabase: 'bus' }).config.databaseConnection).toBe('mysql://u:p@db/nova');
    expect(loadConfig({ requireDatabase: 'bus' }).config.databaseConnection).toBe('sqlite://');
    expect(loadConfig({ flags: bus, requireDatabase: 'never' }).config.databaseConnection).toBe('sqlite://');
  });

  it('db-sync always needs one', () => {
    expect(() => loadConfig({ requireDatabase: 'always' })).toThrow(/\[database\] connection/);
  });
});

describe('noauth2 stays on loopback', () => {
  it('listens on 127.0.0.1 by default', () => {
    expect(loadConfig({ runsApi: true }).config.api.listen).toBe('127.0.0.1');
  });

  it('refuses noauth2 on a non-loopback address unless allow_insecure_noauth = true', () => {
    for (const listen of ['0.0.0.0', '10.1.2.3', '::']) {
      expect(() => loadConfig({ flags: { 'api-listen': listen }, runsApi: true })).toThrow(/allow_insecure_noauth/);
    }
    for (const listen of ['127.0.0.1', '127.0.0.5', 'localhost', '::1']) expect(() => loadConfig({ flags: { 'api-listen': listen }, runsApi: true })).not.toThrow();
    expect(loadConfig({ iniText: '[api]\nlisten = 0.0.0.0\nallow_insecure_noauth = true\n', runsApi: true }).config.api.allowInsecureNoauth).toBe(true);
    expect(loadConfig({ flags: { 'api-listen': '0.0.0.0', 'api-auth-strategy': 'tokens', 'api-token-file': '/etc/tokens' }, runsApi: true }).config.api.listen).toBe('0.0.0.0');
  });
});

describe('nova.conf syntax, as oslo.config reads it', () => {
  it('keeps # and ; inside values (passwords), drops comment lines and one pair of quotes', () => {
    const text = [
      '# a comment',
      '; another',
      '[DEFAULT]',
      'transport_url = rabbit://nova:p#ss;w0rd@mq1:5672/',
      'host: "compute-9"',
      '[database]',
      "connection = 'mysql://nova:s;cret@db1/nova'",
    ].join('\n');
    const { config } = loadConfig({ iniText: text });
    expect(config.transportUrl).toBe('rabbit://nova:p#ss;w0rd@mq1:5672/');
    expect(config.host).toBe('compute-9');
    expect(config.databaseConnection).toBe('mysql://nova:s;cret@db1/nova');
  });

  it('reports every line that is not an option, with its line number, and every bad value, in one error', () => {
    const text = ['[DEFAULT]', 'report_interval = soon', 'this line is wrong', '[api]', 'listen_port = x', '[broken', 'max_count = 3'].join('\n');
    let problems: readonly string[] = [];
    try {
      loadConfig({ iniText: text, configFile: '/etc/novarpc/nova.conf' });
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems).toEqual([
      expect.stringMatching(/^\/etc\/novarpc\/nova\.conf line 3: "this line is wrong" is neither/),
      expect.stringMatching(/^\/etc\/novarpc\/nova\.conf line 6: "\[broken" is neither/),
      expect.stringMatching(/^\/etc\/novarpc\/nova\.conf:2 \[DEFAULT\] report_interval: .*must be a number/),
      expect.stringMatching(/^\/etc\/novarpc\/nova\.conf:5 \[api\] listen_port: .*must be an integer/),
    ]);
  });
});

describe('rpc_duplicate_store', () => {
  it('reads [DEFAULT] rpc_duplicate_store and rpc_duplicate_retention; local by default; a bad value is reported', () => {
    expect(loadConfig({ iniText: '[DEFAULT]\nhost = h\n' }).config.rpcDuplicateStore).toBe('local');
    const { config } = loadConfig({ iniText: '[DEFAULT]\nrpc_duplicate_store = database\nrpc_duplicate_retention = 600\n' });
    expect(config).toMatchObject({ rpcDuplicateStore: 'database', rpcDuplicateRetention: 600 });
    expect(() => loadConfig({ iniText: '[DEFAULT]\nrpc_duplicate_store = redis\n' })).toThrow(/rpc_duplicate_store must be local or database, got "redis"/);
  });
});
