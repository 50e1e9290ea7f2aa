/**
 * pino loggers for every layer. One factory, one redaction list: passwords, auth tokens
 * and admin passwords never reach a log line, whatever layer logs them.
 */
import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/** Object paths whose values are replaced by "[redacted]" in every log line. */
export const REDACTED_PATHS: readonly string[] = [
  'password',
  '*.password',
  'admin_pass',
  '*.admin_pass',
  'adminPass',
  '*.adminPass',
  'auth_token',
  '*.auth_token',
  'authToken',
  '*.authToken',
  '_context_auth_token',
  '*._context_auth_token',
  'headers["x-auth-token"]',
  'req.headers["x-auth-token"]',
  'req.headers.authorization',
  'headers.authorization',
  '*.server.adminPass',
  '*.changePassword.adminPass',
];

/** Options for {@link createLogger}. */
export interface CreateLoggerOptions {
  /** pino level; default `info`, or `NOVARPC_LOG_LEVEL` when the caller passes it in. */
  level?: string;
  /** Static fields on every line (service, host, ...). */
  base?: Record<string, unknown>;
  /** Where lines go; default stdout. Tests pass a stream to capture them. */
  destination?: DestinationStream;
}

/** Creates a pino logger with novarpc's redaction rules. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const pinoOptions: LoggerOptions = {
    level: options.level ?? 'info',
    base: options.base ?? {},
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
  };
  return options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions);
}

/** A logger that drops everything: the default for library objects given none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Query-string keys whose values are secrets (`?password=`, `&ssl_key_password=`, `?token=`). */
const SECRET_QUERY_KEY = /([?&;](?:[a-z0-9_.-]*?(?:password|passwd|pwd|secret|token|auth)[a-z0-9_.-]*)=)[^&;#\s]*/gi;

/**
 * The single password-masking function of novarpc: every URL, error message or log
 * field that may hold a credential goes through it before it is shown. It hides the
 * password of every `scheme://user:password@host` including each host of a failover
 * list (`rabbit://u:p1@h1,u:p2@h2`), and the value of credential-like query keys
 * (`?password=`, `?auth_token=`). User names and hosts stay visible.
 */
export function redactUrlPasswords(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/|,)([^:/@,\s]*):([^/\s,]*)@/gi, '$1$2:***@')
    .replace(SECRET_QUERY_KEY, '$1***');
}
