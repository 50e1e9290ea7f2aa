/**
 * pino loggers for every layer. One factory, one redaction list: passwords, auth tokens
 * and admin passwords never reach a log line, whatever layer logs them.
 */
import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';
import { createRequire } from 'node:module';

export type { Logger } from 'pino';

/** Object paths whose values are replaced by "[redacted]" in every log line. */
export const REDACTED_PATHS: readonly string[] = [
  'password',
  '*.password',
  'admin_pass',
  '*.admin_pass',
  'adminPass',
  '*.adminPass',
  'admin_password',
  '*.admin_password',
  'new_pass',
  '*.new_pass',
  'auth_token',
  '*.auth_token',
  'authToken',
  '*.authToken',
  '_context_auth_token',
  '*._context_auth_token',
  'headers["x-auth-token"]',
  'req.headers["x-auth-token"]',
  'req.headers.authorization',
  'headers["x-subject-token"]',
  'req.headers["x-subject-token"]',
  'headers.authorization',
  '*.server.adminPass',
  '*.changePassword.adminPass',
];

/** How log lines are written: one JSON object per line, or pino-pretty's lines for people. */
export type LogFormat = 'json' | 'pretty';

/** The formats `--log-format` accepts. */
export const LOG_FORMATS: readonly LogFormat[] = ['pretty', 'json'];

/** Pretty for a terminal, JSON for anything else (files, pipes, log collectors). */
export function defaultLogFormat(stream: { isTTY?: boolean } = process.stdout): LogFormat {
  return stream.isTTY ? 'pretty' : 'json';
}

/** Options for {@link createLogger}. */
export interface CreateLoggerOptions {
  /** pino level; default `info`, or `NOVARPC_LOG_LEVEL` when the caller passes it in. */
  level?: string;
  /** Static fields on every line (service, host, ...). */
  base?: Record<string, unknown>;
  /** Where lines go; default stdout. Tests pass a stream to capture them. */
  destination?: DestinationStream;
  /** Default `json`. `pretty` writes human lines (colored on a terminal); redaction is the same. */
  format?: LogFormat;
}

/** Creates a pino logger with novarpc's redaction rules. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const pinoOptions: LoggerOptions = {
    level: options.level ?? 'info',
    base: options.base ?? {},
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
  };
  // stdout is written synchronously: with pino's default asynchronous writer, lines still
  // waiting for a full pipe were lost when a stopping worker exited.
  const out = options.destination ?? pino.destination({ dest: 1, sync: true });
  // Redaction happens in pino before a line is serialized, so both formats see the same
  // censored values: the pretty printer only reformats what JSON would have carried.
  return pino(pinoOptions, options.format === 'pretty' ? humanLines(out, !options.destination && Boolean(process.stdout.isTTY)) : out);
}

/**
 * pino-pretty's formatter writing one line per entry (extra fields as JSON after the
 * message) in the write call itself (its stream form transforms asynchronously).
 * pino-pretty is loaded here, on first use: programs that only log JSON never load it.
 */
function humanLines(out: DestinationStream, colorize: boolean): DestinationStream {
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  const format = prettyFactory({
    colorize,
    singleLine: true,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'hostname,pid',
    // pino-pretty shows a `name` field as the logger's name; ours is a server's name.
    customPrettifiers: { name: (value: unknown) => `name=${String(value)}` },
  });
  return { write: (line: string) => out.write(format(line)) };
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
