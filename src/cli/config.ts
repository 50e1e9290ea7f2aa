/**
 * Loads a ServiceConfig from, lowest to highest precedence: the command's defaults, an
 * INI file in nova.conf style (`--config-file`), `NOVARPC_*` environment variables,
 * then flags. Unknown INI keys are reported as warnings (nova.conf files carry many);
 * a value of the wrong type is an error naming the option and where it came from.
 */
import { readFileSync } from 'node:fs';
import ini from 'ini';
import { resolveServiceConfig, type ServiceConfig, type ServiceConfigInput } from '../services/config.js';
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
}

/** A loaded config and what was odd about the sources. */
export interface LoadedConfig {
  config: ServiceConfig;
  warnings: string[];
}

/** Loads and validates the config. */
export function loadConfig(sources: ConfigSources): LoadedConfig {
  const input: ServiceConfigInput = structuredClone(sources.defaults ?? {});
  const warnings: string[] = [];
  const text = sources.iniText ?? (sources.configFile ? readFileSync(sources.configFile, 'utf8') : undefined);
  if (text !== undefined) applyIni(input, text, sources.configFile ?? 'config', warnings);
  for (const option of OPTIONS) {
    const raw = sources.env?.[envName(option)];
    if (raw !== undefined && raw !== '') set(input, option, raw, `environment ${envName(option)}`);
  }
  for (const option of OPTIONS) {
    const raw = sources.flags?.[flagName(option).slice(2)];
    if (raw !== undefined) set(input, option, raw, `flag ${flagName(option)}`);
  }
  const config = resolveServiceConfig(input);
  validate(config);
  return { config, warnings };
}

function applyIni(input: ServiceConfigInput, text: string, source: string, warnings: string[]): void {
  const parsed = ini.parse(text) as Record<string, unknown>;
  const sections = new Map<string, Record<string, unknown>>();
  const rootKeys: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (value && typeof value === 'object' && !Array.isArray(value)) sections.set(name, value as Record<string, unknown>);
    else rootKeys[name] = value;
  }
  sections.set('DEFAULT', { ...rootKeys, ...(sections.get('DEFAULT') ?? {}) });
  for (const [section, values] of sections) {
    for (const [key, value] of Object.entries(values)) {
      const option = OPTIONS.find((candidate) => candidate.section === section && (candidate.key === key || candidate.aliases?.includes(key)));
      if (!option) {
        warnings.push(`${source}: [${section}] ${key} is not a novarpc option; ignored`);
        continue;
      }
      set(input, option, String(value), `${source} [${section}] ${key}`);
    }
  }
}

function set(input: ServiceConfigInput, option: OptionDef, raw: string, source: string): void {
  option.apply(input, parseValue(option, raw, source) as never);
}

function validate(config: ServiceConfig): void {
  const problems: string[] = [];
  if (!['messagingv2', 'noop'].includes(config.notificationDriver)) problems.push(`notifications.driver must be messagingv2 or noop, got "${config.notificationDriver}"`);
  if (!['noauth2', 'tokens', 'keystone'].includes(config.api.authStrategy)) problems.push(`api.auth_strategy must be noauth2, tokens or keystone, got "${config.api.authStrategy}"`);
  if (config.api.authStrategy === 'keystone' && !config.identity.usersFile) problems.push('api.auth_strategy = keystone needs identity.users_file');
  if (!(config.identity.tokenExpiration > 0)) problems.push(`identity.token_expiration must be positive, got ${config.identity.tokenExpiration}`);
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(config.logLevel)) problems.push(`log_level "${config.logLevel}" is not a pino level`);
  if (!config.host) problems.push('host must not be empty');
  for (const [name, value] of [['report_interval', config.reportInterval], ['service_down_time', config.serviceDownTime], ['periodic_interval', config.periodicInterval]] as const) {
    if (!(value > 0)) problems.push(`${name} must be positive, got ${value}`);
  }
  if (config.api.port < 0 || config.api.port > 65535) problems.push(`api.listen_port must be 0..65535, got ${config.api.port}`);
  if (config.ha.port < 0 || config.ha.port > 65535) problems.push(`ha.listen_port must be 0..65535, got ${config.ha.port}`);
  for (const [name, value] of [['host_down_time', config.ha.hostDownTime], ['monitor_interval', config.ha.monitorInterval], ['engine_lease_time', config.ha.engineLeaseTime], ['evacuate_timeout', config.ha.evacuateTimeout]] as const) {
    if (!(value > 0)) problems.push(`ha.${name} must be positive, got ${value}`);
  }
  for (const [name, value] of [['evacuate_concurrency', config.ha.evacuateConcurrency], ['max_attempts', config.ha.maxAttempts]] as const) {
    if (!(value >= 1)) problems.push(`ha.${name} must be at least 1, got ${value}`);
  }
  if (problems.length > 0) throw new Error(`Invalid configuration: ${problems.join('; ')}`);
}
