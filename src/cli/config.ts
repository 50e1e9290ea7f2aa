/**
 * Loads a ServiceConfig from, lowest to highest precedence: the command's defaults, an
 * INI file in nova.conf style (`--config-file`), `NOVARPC_*` environment variables,
 * then flags. Every bad value (and a missing file) is an error, all of them reported in
 * one {@link ConfigError}; odd keys and variables are warnings naming the closest real
 * option; options of a stock nova.conf that novarpc has no use for are one notice.
 */
import { readFileSync } from 'node:fs';
import { resolveOptions } from '../rpc/transport-options.js';
import { insecureApiProblem, resolveServiceConfig, type ServiceConfig, type ServiceConfigInput } from '../services/config.js';
import { iniWarnings, unknownEnvWarnings } from './config-warnings.js';
import { parseNovaConf } from './nova-conf.js';
import { envName, flagName, OPTIONS, parseValue, type OptionDef } from './options.js';

/** Where settings come from. */
export interface ConfigSources {
  /** Defaults of the command (e.g. auto_migrate false for workers). */
  defaults?: ServiceConfigInput;
  /** Path of an INI file. */
  configFile?: string;
  /** INI text (instead of a file, for tests). */
  iniText?: string;
  /** Environment; only `NOVARPC_*` variables are read. */
  env?: Record<string, string | undefined>;
  /** Flag values by flag name without dashes (`transport-url`), as strings. */
  flags?: Record<string, string | undefined>;
  /**
   * When a `[database] connection` must be given: `bus` when the transport is not
   * `memory://` (a separate service), `always` (db-sync), `never` (default: all, demo).
   */
  requireDatabase?: 'bus' | 'always' | 'never';
  /**
   * Whether the process runs the API. `true`: its listen address is checked against its
   * auth strategy; `false`: [api] settings are not checked (a worker sharing a nova.conf
   * whose `auth_strategy = keystone` is fine). Default: only the values are checked.
   */
  runsApi?: boolean;
}

/** A loaded config and what was odd about the sources. */
export interface LoadedConfig {
  config: ServiceConfig;
  warnings: string[];
}

/** Invalid configuration: every problem found, one per line. Code `INVALID_CONFIG`. */
export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG';
  constructor(
    readonly problems: readonly string[],
    readonly warnings: readonly string[] = [],
  ) {
    const head = problems.length === 1 ? `Invalid configuration: ${problems[0]}` : `Invalid configuration (${problems.length} problems):\n  - ${problems.join('\n  - ')}`;
    super(warnings.length === 0 ? head : `${head}\nAlso:\n  - ${warnings.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Loads and validates the config; throws a {@link ConfigError} listing every problem. */
export function loadConfig(sources: ConfigSources): LoadedConfig {
  const input: ServiceConfigInput = structuredClone(sources.defaults ?? {});
  const warnings: string[] = [];
  const problems: string[] = [];
  const given = new Set<OptionDef>();
  const text = sources.iniText ?? (sources.configFile ? readConfigFile(sources.configFile) : undefined);
  if (text !== undefined) applyIni(input, text, sources.configFile ?? 'config', { warnings, problems, given });
  if (sources.env) {
    applyEnv(input, sources.env, { warnings, problems, given });
    warnings.push(...unknownEnvWarnings(sources.env));
  }
  for (const option of OPTIONS) {
    const raw = option.iniOnly ? undefined : sources.flags?.[flagName(option).slice(2)];
    if (raw !== undefined) set(input, option, raw, `flag ${flagName(option)}`, { problems, given });
  }
  const config = resolveServiceConfig(input);
  problems.push(...validate(config, sources));
  const connection = OPTIONS.find((option) => option.section === 'database' && option.key === 'connection')!;
  if (!given.has(connection) && needsDatabase(config, sources.requireDatabase ?? 'never')) problems.push(missingDatabase(config));
  if (problems.length > 0) throw new ConfigError(problems, warnings);
  return { config, warnings };
}

function readConfigFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError([`--config-file ${path}: no such file`]);
    if (code === 'EACCES') throw new ConfigError([`--config-file ${path}: permission denied`]);
    if (code === 'EISDIR') throw new ConfigError([`--config-file ${path}: is a directory, not a file`]);
    throw new ConfigError([`--config-file ${path}: cannot be read (${code ?? (error as Error).message})`]);
  }
}

interface Collect {
  warnings?: string[];
  problems: string[];
  given: Set<OptionDef>;
}

function applyIni(input: ServiceConfigInput, text: string, source: string, collect: Required<Collect>): void {
  const { entries, errors } = parseNovaConf(text);
  collect.problems.push(...errors.map((error) => `${source} ${error}`));
  const unmatched: Array<{ section: string; key: string }> = [];
  for (const { section, key, value, line } of entries) {
    const option = iniOption(section, key);
    if (option) set(input, option, value, `${source}:${line} [${section}] ${key}`, collect);
    else if (!unmatched.some((seen) => seen.section === section && seen.key === key)) unmatched.push({ section, key });
  }
  collect.warnings.push(...iniWarnings(source, unmatched));
}

/** The option an INI key sets, by its own name, an alias or another section's name for it. */
export function iniOption(section: string, key: string): OptionDef | undefined {
  return OPTIONS.find(
    (option) =>
      (option.section === section && (option.key === key || option.aliases?.includes(key))) ||
      option.alsoIn?.some((place) => place.section === section && place.key === key),
  );
}

function applyEnv(input: ServiceConfigInput, env: Record<string, string | undefined>, collect: Collect): void {
  for (const option of OPTIONS) {
    if (option.iniOnly) continue;
    for (const name of [...(option.envAliases ?? []), envName(option)]) {
      const raw = env[name];
      if (raw !== undefined && raw !== '') set(input, option, raw, `environment ${name}`, collect);
    }
  }
}

function set(input: ServiceConfigInput, option: OptionDef, raw: string, source: string, collect: Collect): void {
  try {
    option.apply(input, parseValue(option, raw, source) as never);
    collect.given.add(option);
  } catch (error) {
    collect.problems.push((error as Error).message);
  }
}

function needsDatabase(config: ServiceConfig, rule: 'bus' | 'always' | 'never'): boolean {
  if (rule === 'always') return true;
  return rule === 'bus' && !/^memory:/i.test(config.transportUrl.trim());
}

function missingDatabase(config: ServiceConfig): string {
  const why = /^memory:/i.test(config.transportUrl.trim())
    ? 'db-sync would migrate a throwaway in-memory database'
    : 'on a shared message bus, a private in-memory database in one service is never what is meant';
  return `no database configured: set [database] connection (--database-connection or NOVARPC_DATABASE_CONNECTION), e.g. mysql://nova:secret@db1/nova; ${why}`;
}

function validate(config: ServiceConfig, sources: ConfigSources): string[] {
  const problems: string[] = [];
  if (!['local', 'database'].includes(config.rpcDuplicateStore)) problems.push(`rpc_duplicate_store must be local or database, got "${config.rpcDuplicateStore}"`);
  if (!(config.rpcDuplicateRetention > 0)) problems.push(`rpc_duplicate_retention must be a positive number of seconds, got ${config.rpcDuplicateRetention}`);
  if (!['messagingv2', 'noop'].includes(config.notificationDriver)) problems.push(`notifications.driver must be messagingv2 or noop, got "${config.notificationDriver}"`);
  if (sources.runsApi !== false && !['noauth2', 'tokens', 'keystone'].includes(config.api.authStrategy)) problems.push(`api.auth_strategy must be noauth2, tokens or keystone, got "${config.api.authStrategy}"`);
  if (sources.runsApi !== false && config.api.authStrategy === 'keystone' && !config.identity.usersFile) problems.push('api.auth_strategy = keystone needs identity.users_file');
  if (!(config.identity.tokenExpiration > 0)) problems.push(`identity.token_expiration must be positive, got ${config.identity.tokenExpiration}`);
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(config.logLevel)) problems.push(`log_level "${config.logLevel}" is not a pino level`);
  if (!config.host) problems.push('host must not be empty');
  for (const [name, value] of [['report_interval', config.reportInterval], ['service_down_time', config.serviceDownTime], ['periodic_interval', config.periodicInterval]] as const) {
    if (!(value > 0)) problems.push(`${name} must be positive, got ${value}`);
  }
  if (!(config.api.busTimeout > 0)) problems.push(`api.bus_timeout must be positive, got ${config.api.busTimeout}`);
  if (config.api.port < 0 || config.api.port > 65535) problems.push(`api.listen_port must be 0..65535, got ${config.api.port}`);
  if (config.metricsPort !== undefined && (config.metricsPort < 0 || config.metricsPort > 65535)) problems.push(`metrics.listen_port must be 0..65535, got ${config.metricsPort}`);
  if (config.ha.port < 0 || config.ha.port > 65535) problems.push(`ha.listen_port must be 0..65535, got ${config.ha.port}`);
  for (const [name, value] of [['host_down_time', config.ha.hostDownTime], ['monitor_interval', config.ha.monitorInterval], ['engine_lease_time', config.ha.engineLeaseTime], ['evacuate_timeout', config.ha.evacuateTimeout]] as const) {
    if (!(value > 0)) problems.push(`ha.${name} must be positive, got ${value}`);
  }
  for (const [name, value] of [['evacuate_concurrency', config.ha.evacuateConcurrency], ['max_attempts', config.ha.maxAttempts]] as const) {
    if (!(value >= 1)) problems.push(`ha.${name} must be at least 1, got ${value}`);
  }
  for (const [name, value] of Object.entries(config.transportOptions)) {
    try {
      resolveOptions({ [name]: value });
    } catch (error) {
      problems.push(`[oslo_messaging_rabbit] ${(error as Error).message}`);
    }
  }
  if (problems.length === 0) {
    try {
      resolveOptions(config.transportOptions);
    } catch (error) {
      problems.push(`[oslo_messaging_rabbit] ${(error as Error).message}`);
    }
  }
  const insecure = sources.runsApi ? insecureApiProblem(config.api) : undefined;
  if (insecure) problems.push(insecure);
  return problems;
}
