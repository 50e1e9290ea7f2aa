#!/usr/bin/env node
/**
 * The novarpc command: `novarpc api|scheduler|compute|network|all` runs services,
 * `novarpc demo` boots servers end to end in one process, `novarpc db-sync` migrates,
 * `novarpc dlq list|replay|purge` manages the dead-letter queue, and
 * `novarpc servers|boot|services` are small API clients.
 */
import { Command, Option } from 'commander';
import { createLogger, defaultLogFormat, LOG_FORMATS, redactUrlPasswords, type LogFormat } from '../log/logger.js';
import { HA_SERVICE_NAMES, launch, type ServiceName } from '../services/runtime.js';
import type { ServiceConfigInput } from '../services/config.js';
import { serversListCommand, servicesCommand, type ClientOptions } from './client.js';
import { bootCommand, DEFAULT_WAIT_TIMEOUT_S, parseTimeout, serversDeleteCommand, serversShowCommand } from './servers.js';
import { loadConfig, type ConfigSources } from './config.js';
import { runDemo } from './demo.js';
import { haDemoDefaults } from './demo-ha.js';
import { envName, flagName, optionsFor } from './options.js';
import { checkService } from './check.js';
import { dlqCommand } from './dlq.js';
import { runDbSync } from './db-sync.js';
import { hashPasswordCommand } from './identity.js';
import { exitOnSignalDuringStartup, runUntilSignal } from './signals.js';
import { packageVersion } from './version.js';
import { startTracingSdk } from './tracing-sdk.js';
import { processNameOf } from '../services/telemetry/runtime-telemetry.js';

/** Adds the settings `scope` uses (see COMMAND_SCOPES) as flags, plus --config-file, to a command. */
function withSettings(command: Command, scope: string = command.name()): Command {
  command.option('--config-file <file>', 'INI file in nova.conf style ([DEFAULT], [database], [api], [notifications], [fake_driver], [metrics], [oslo_messaging_rabbit], [oslo_messaging_notifications])');
  const options = optionsFor(scope);
  if (options.some((option) => option.iniOnly)) {
    const names = options.filter((option) => option.iniOnly && option.section === 'oslo_messaging_rabbit').map((option) => option.key);
    command.addHelpText('after', `\nTransport options go in [oslo_messaging_rabbit] of the --config-file, as in nova.conf, or in the\ntransport_url query (?name=value), which wins: ${names.join(', ')}.`);
  }
  for (const option of options) {
    if (option.iniOnly) continue;
    const placeholder = option.kind === 'bool' ? '[bool]' : `<${option.kind === 'list' ? 'list' : option.kind === 'string' ? 'value' : 'number'}>`;
    const flag = new Option(`${flagName(option)} ${placeholder}`, `${option.help} [${option.section}] ${option.key}, env ${envName(option)}`);
    command.addOption(flag);
  }
  return command;
}

/** Flag values keyed by flag name without dashes, as strings. */
function flagValues(command: Command): Record<string, string | undefined> {
  const values: Record<string, string | undefined> = {};
  const opts = command.opts() as Record<string, unknown>;
  for (const option of command.options) {
    const value = opts[option.attributeName()];
    if (value === undefined) continue;
    values[option.long!.slice(2)] = value === true ? 'true' : String(value);
  }
  return values;
}

/** The command's config; warnings go to `warn` (stderr unless the caller logs them). */
function configFor(command: Command, defaults: ServiceConfigInput, rules: Pick<ConfigSources, 'requireDatabase' | 'runsApi'> = {}, warn = warnOnStderr) {
  const { config, warnings } = loadConfig({
    defaults,
    configFile: command.opts().configFile as string | undefined,
    env: process.env,
    flags: flagValues(command),
    ...rules,
  });
  for (const warning of warnings) warn(warning);
  return { config, warnings };
}

function warnOnStderr(warning: string): void {
  process.stderr.write(`novarpc: warning: ${warning}\n`);
}

async function serve(command: Command, services: ServiceName[], defaults: ServiceConfigInput, all = false): Promise<void> {
  const separate = services.length === 1;
  const { config, warnings } = configFor(command, defaults, { requireDatabase: separate ? 'bus' : 'never', runsApi: services.includes('api') || services.includes('ha-api') }, () => {});
  // use_queue_manager names queues <host>:<processname>:<n>: one name per command, never a Python service's.
  config.transportOptions = { processname: `novarpc-${command.name()}`, ...config.transportOptions };
  const format = (command.opts().logFormat as LogFormat | undefined) ?? defaultLogFormat(process.stdout);
  const logger = createLogger({ level: config.logLevel, base: { pid: process.pid }, format });
  for (const warning of warnings) logger.warn(warning);
  // A worker never dies of a stray promise: log it and keep serving.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
  logger.info({ services, host: config.host, transport: redactUrlPasswords(config.transportUrl), database: redactUrlPasswords(config.databaseConnection), ...(config.notificationTransportUrl ? { notifications: redactUrlPasswords(config.notificationTransportUrl) } : {}) }, 'starting');
  const startup = exitOnSignalDuringStartup(logger);
  const withHa = all && config.ha.enabled ? [...services, ...HA_SERVICE_NAMES] : services;
  const tracing = await startTracingSdk(process.env, processNameOf(withHa));
  if (tracing) logger.info({ exporter: process.env.OTEL_TRACES_EXPORTER }, 'OpenTelemetry tracing on');
  const runtime = await launch({ config, services: withHa, logger });
  const stop = async () => {
    await runtime.stop();
    await tracing?.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'could not export the last spans'));
  };
  // The graceful handler is in place before the start-up one goes: no moment without one.
  const stopped = runUntilSignal({ stop }, config.gracefulShutdownTimeout, logger);
  startup.dispose();
  if (runtime.apiUrl) logger.info({ url: `${runtime.apiUrl}/v2.1` }, 'Compute API listening');
  if (runtime.haApiUrl) logger.info({ url: `${runtime.haApiUrl}/v1` }, 'instance HA API listening');
  await stopped;
}

function clientOptions(command: Command): ClientOptions {
  const opts = command.opts() as { endpoint?: string; token?: string };
  return {
    endpoint: opts.endpoint ?? process.env.NOVARPC_ENDPOINT ?? 'http://127.0.0.1:8774/v2.1',
    token: opts.token ?? process.env.NOVARPC_TOKEN ?? 'demo:demo',
  };
}

function withClient(command: Command): Command {
  return command
    .option('--endpoint <url>', 'Compute API endpoint (env NOVARPC_ENDPOINT). Default http://127.0.0.1:8774/v2.1')
    .option('--token <token>', 'X-Auth-Token; with noauth2 "user:project" (env NOVARPC_TOKEN). Default demo:demo');
}

function withWait(command: Command, until: string): Command {
  return command
    .option('--wait', `wait ${until}`)
    .option('--timeout <seconds>', `with --wait: give up (exit 1) after this long. Default ${DEFAULT_WAIT_TIMEOUT_S}`, parseTimeout);
}

/** Builds the command tree. */
export function buildProgram(): Command {
  const program = new Command('novarpc')
    .description('oslo.messaging-compatible RPC for TypeScript, and a small Nova-like cloud built on it.')
    .version(packageVersion(), '-V, --version', 'Print the novarpc version.')
    .showHelpAfterError();
  const worker = { autoMigrate: false };
  const describe: Array<[ServiceName | 'all', string, ServiceName[], ServiceConfigInput]> = [
    ['api', 'Run the Compute API v2.1 over HTTP.', ['api'], { autoMigrate: true }],
    ['scheduler', 'Run the scheduler worker (topic scheduler).', ['scheduler'], worker],
    ['compute', 'Run a compute worker with the fake driver (topic compute.<host>).', ['compute'], worker],
    ['network', 'Run the network worker (topic network).', ['network'], worker],
    ['ha-api', 'Run the instance HA API (Masakari v1) over HTTP on [ha] listen_port.', ['ha-api'], worker],
    ['ha-engine', 'Run the instance HA engine (topic [ha] topic): recovery workflows driving the Compute API.', ['ha-engine'], worker],
    ['hostmonitor', 'Report compute hosts whose heartbeat is older than [ha] host_down_time to the instance HA API.', ['hostmonitor'], worker],
    ['all', 'Run every service in this process (with [ha] enabled, the instance HA API, engine and a host monitor too).', ['network', 'scheduler', 'compute', 'api'], { autoMigrate: true }],
  ];
  for (const [name, help, services, defaults] of describe) {
    const command = withSettings(program.command(name).description(help))
      .addOption(new Option('--log-format <format>', 'pretty (human lines) or json (one object per line). Default: pretty when stdout is a terminal, else json').choices(LOG_FORMATS));
    command.action(async () => serve(command, services, defaults, name === 'all'));
  }

  const demo = withSettings(program.command('demo').description('Boot servers end to end in one process and show each one\'s journey.'))
    .option('--servers <n>', 'Servers to boot. Default 3 (6 with --ha)')
    .option('--ha', 'Run instance HA too (short timings), kill the compute holding most servers and show their evacuation; exit 1 if the recovery does not finish within 60 s');
  demo.action(async () => {
    const ha = demo.opts().ha === true;
    const defaults: ServiceConfigInput = { autoMigrate: true, api: { listen: '127.0.0.1', port: 0 }, fakeDriver: { spawnTimeMs: 150 } };
    const { config } = configFor(demo, ha ? { ...defaults, ...(await haDemoDefaults()) } : defaults, { runsApi: true });
    const recovered = await runDemo({ config, servers: Number(demo.opts().servers ?? (ha ? 6 : 3)), out: process.stdout, ha });
    if (!recovered) process.exitCode = 1;
  });

  const dbSync = withSettings(program.command('db-sync').description('Run the database migrations and exit.'));
  dbSync.action(async () => {
    const { config } = configFor(dbSync, {}, { requireDatabase: 'always', runsApi: false });
    await runDbSync(config, process.stdout);
  });

  const check = withSettings(program.command('check').description("Health check: exit 0 when this host's service heartbeats are fresh."))
    .argument('<service>', 'api, scheduler, compute or network');
  check.action(async (service: string) => {
    const { config } = configFor(check, {}, { requireDatabase: 'bus', runsApi: false });
    process.exitCode = await checkService(config, service, process.stdout);
  });

  const identity = program.command('identity').description('Helpers for the built-in Identity endpoint ([identity] users_file).');
  identity
    .command('hash-password')
    .description('Read a password on stdin; print its scrypt$salt$hash form for a users file line.')
    .action(async () => {
      process.exitCode = await hashPasswordCommand(process.stdin, process.stdout, process.stderr);
    });

  const dlq = program
    .command('dlq')
    .description('Dead-letter queue of the transport (dead_letter_queue option, default novarpc.dead_letter): messages no server could decode or that kept coming back.');
  const dlqList = withSettings(dlq.command('list').description('Show dead-lettered messages (oldest first) without removing them.'), 'dlq')
    .option('--limit <n>', 'Most messages to show. Default 100', '100')
    .option('--json', 'One JSON document: {queue, total, messages: [{id, reason, queue, exchange, routingKey, deadLetteredAt, body, bodyEncoding}]}');
  dlqList.action(async () => {
    const { config } = configFor(dlqList, {}, { runsApi: false });
    const opts = dlqList.opts() as { limit: string; json?: boolean };
    if (!/^\d+$/.test(opts.limit)) throw new Error(`--limit must be a positive integer, got "${opts.limit}"`);
    process.exitCode = await dlqCommand(config, 'list', { limit: Number(opts.limit), json: opts.json }, process.stdout);
  });
  const dlqReplay = withSettings(dlq.command('replay').description('Republish dead-lettered messages to the exchange and routing key they came from, and remove them.'), 'dlq')
    .option('--id <id...>', 'Ids (from dlq list) of the messages to replay')
    .option('--all', 'Replay every message')
    .option('--json', 'JSON output: {queue, replayed, not_found}');
  dlqReplay.action(async () => {
    const { config } = configFor(dlqReplay, {}, { runsApi: false });
    const opts = dlqReplay.opts() as { id?: string[]; all?: boolean; json?: boolean };
    process.exitCode = await dlqCommand(config, 'replay', { ids: opts.id, all: opts.all, json: opts.json }, process.stdout);
  });
  const dlqPurge = withSettings(dlq.command('purge').description('Delete every dead-lettered message.'), 'dlq').option('--json', 'JSON output: {queue, purged}');
  dlqPurge.action(async () => {
    const { config } = configFor(dlqPurge, {}, { runsApi: false });
    process.exitCode = await dlqCommand(config, 'purge', { json: (dlqPurge.opts() as { json?: boolean }).json }, process.stdout);
  });

  const servers = program.command('servers').description('Servers of the Compute API.');
  const list = withClient(servers.command('list').description('List servers with status, host and addresses.'));
  list.action(async () => serversListCommand(clientOptions(list), process.stdout));
  const show = withClient(servers.command('show').description('Show every field of one server.')).argument('<server>', 'server id or name');
  show.action(async (server: string) => serversShowCommand(clientOptions(show), server, process.stdout));
  const remove = withWait(withClient(servers.command('delete').description('Delete a server.')).argument('<server>', 'server id or name'), 'until the server is gone');
  remove.action(async (server: string) => serversDeleteCommand(clientOptions(remove), server, remove.opts(), process.stdout));
  const boot = withWait(withClient(program.command('boot').description('Boot a server through the API.'))
    .argument('<name>', 'server name')
    .option('--image <id>', 'image id (default: the first image)')
    .option('--flavor <id>', 'flavor id. Default 1', '1')
    .option('--meta <key=value...>', 'metadata items'), 'until ACTIVE (exit 0) or ERROR (exit 1), printing each state change');
  boot.action(async (name: string) => bootCommand(clientOptions(boot), name, boot.opts(), process.stdout));
  const services = withClient(program.command('services').description('List services and whether they are up (admin).'));
  services.action(async () => servicesCommand(clientOptions(services), process.stdout));
  return program;
}

/** Runs the command line; a failure prints `novarpc: <message>` and exits 1. */
export async function runCli(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (error: unknown) {
    process.stderr.write(`novarpc: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

// `node src/cli/main.ts` / `node dist/cli/main.js` still run it; the bin is cli/bin.js.
const isMain = process.argv[1] && /(?:^|[\\/])main\.(?:js|ts)$/.test(process.argv[1]);
if (isMain) void runCli(process.argv);
