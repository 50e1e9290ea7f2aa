/**
 * Errors ⇄ oslo failure JSON: `{"class","module","message","tb","args","kwargs"}`.
 * One function each way; the caller's allow-list decides which remote classes are
 * rebuilt as themselves and which arrive as RemoteError.
 */
import {
  InvalidArguments,
  MalformedMessage,
  MessagingTimeout,
  NoSuchMethod,
  PayloadTooLarge,
  RemoteBuiltinError,
  RemoteError,
  RpcError,
  SerializationError,
  UnsupportedVersion,
  type WireErrorClass,
} from '../errors.js';
import { isPlainObject, parsePythonJson } from './json.js';

/** The decoded failure document. */
export interface WireFailure {
  class: string;
  module: string;
  message: string;
  tb: string[];
  args: unknown[];
  kwargs: Record<string, unknown>;
}

const JS_BUILTINS = new Set(['TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError']);
const PYTHON_BUILTIN_MODULES = new Set(['builtins', 'exceptions']);

/** Module used on the wire for application errors that do not name one. */
export const DEFAULT_ERROR_MODULE = 'novarpc.app';

/** Turns any thrown value into the failure document. Stack lines only when `withTraceback`. */
export function toWireFailure(thrown: unknown, withTraceback: boolean): WireFailure {
  if (thrown instanceof RemoteError) {
    // A remote failure passed on: keep the original class, as oslo strips "_Remote".
    return {
      class: thrown.excType,
      module: thrown.excModule,
      message: thrown.value,
      tb: withTraceback ? thrown.traceback : [],
      args: thrown.remoteArgs.length ? thrown.remoteArgs : [thrown.value],
      kwargs: thrown.remoteKwargs,
    };
  }
  if (thrown instanceof Error) {
    const ctor = thrown.constructor as Partial<WireErrorClass>;
    const className = ctor.wireClass ?? errorClassName(thrown);
    const module = ctor.wireModule ?? (JS_BUILTINS.has(className) || className === 'Error' ? 'builtins' : DEFAULT_ERROR_MODULE);
    const kwargs = thrown instanceof RpcError ? thrown.wireKwargs : readKwargs(thrown);
    return {
      class: className === 'Error' ? 'Exception' : className,
      module,
      message: thrown.message,
      tb: withTraceback && thrown.stack ? thrown.stack.split('\n').map((line) => `${line}\n`) : [],
      args: [thrown.message],
      kwargs,
    };
  }
  const message = typeof thrown === 'string' ? thrown : safeDescribe(thrown);
  return { class: 'Exception', module: 'builtins', message, tb: [], args: [message], kwargs: {} };
}

/** Framework classes a caller always rebuilds, keyed `module.class`. */
const FRAMEWORK_ERRORS = new Map<string, (failure: WireFailure) => Error>([
  [key(NoSuchMethod), (f) => new NoSuchMethod(/RPC method (.*)$/.exec(f.message)?.[1] ?? f.message)],
  [key(UnsupportedVersion), (f) => rebuildUnsupportedVersion(f)],
  [key(MessagingTimeout), (f) => new MessagingTimeout(f.message)],
  [key(InvalidArguments), (f) => new InvalidArguments(f.message)],
  [key(MalformedMessage), (f) => new MalformedMessage(f.message)],
  [key(SerializationError), (f) => new SerializationError(f.message)],
  [key(PayloadTooLarge), (f) => rebuildPayloadTooLarge(f)],
]);

/**
 * Rebuilds the error a failure document describes: framework errors and allow-listed
 * classes as themselves, built-ins by name, anything else as RemoteError.
 */
export function fromWireFailure(failureText: string, allowed: readonly WireErrorClass[] = []): Error {
  const failure = parseFailure(failureText);
  if (!failure) return new RemoteError('UnknownRemoteError', String(failureText).slice(0, 2000));
  const rebuilt = rebuild(failure, allowed);
  Object.defineProperty(rebuilt, 'remoteTraceback', { value: failure.tb, enumerable: false });
  return rebuilt;
}

function rebuild(failure: WireFailure, allowed: readonly WireErrorClass[]): Error {
  const framework = FRAMEWORK_ERRORS.get(`${failure.module}.${failure.class}`);
  if (framework) return framework(failure);
  if (PYTHON_BUILTIN_MODULES.has(failure.module)) {
    return new RemoteBuiltinError(failure.class, failure.message, failure.tb, failure.module, failure.args);
  }
  const allowedClass = allowed.find((cls) => cls.wireClass === failure.class && cls.wireModule === failure.module);
  if (allowedClass) {
    try {
      const error = new (allowedClass as unknown as new (message: string) => Error)(failure.message);
      return Object.assign(error, { remoteKwargs: failure.kwargs });
    } catch {
      // fall through to RemoteError, as oslo does on a failed rebuild
    }
  }
  return new RemoteError(failure.class, failure.message, failure.tb, failure.module, failure.args, failure.kwargs);
}

function parseFailure(text: string): WireFailure | undefined {
  let value: unknown;
  try {
    value = typeof text === 'string' ? parsePythonJson(text) : text;
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const doc = value as Record<string, unknown>;
  if (typeof doc.class !== 'string') return undefined;
  return {
    class: doc.class,
    module: typeof doc.module === 'string' ? doc.module : '',
    message: typeof doc.message === 'string' ? doc.message : String(doc.message ?? ''),
    tb: Array.isArray(doc.tb) ? doc.tb.map(String) : [],
    args: Array.isArray(doc.args) ? doc.args : [],
    kwargs: isPlainObject(doc.kwargs) ? doc.kwargs : {},
  };
}

function rebuildUnsupportedVersion(failure: WireFailure): UnsupportedVersion {
  const match = /RPC version (\S+)\. Attempted method: (.*)$/.exec(failure.message);
  return new UnsupportedVersion(match?.[1] ?? '?', match?.[2]);
}

function rebuildPayloadTooLarge(failure: WireFailure): PayloadTooLarge {
  const [size = 0, limit = 0] = (failure.message.match(/\d+/g) ?? []).map(Number);
  return new PayloadTooLarge(size, limit);
}

function key(cls: WireErrorClass): string {
  return `${cls.wireModule}.${cls.wireClass}`;
}

/**
 * Python's `type(exc).__name__`: the constructor's name, unless the error or its own
 * class set `name` explicitly. `class QuotaBlown extends Error {}` leaves `name` at the
 * inherited "Error", which would travel as builtins.Exception instead of QuotaBlown.
 */
function errorClassName(error: Error): string {
  const ctor = error.constructor as { name?: unknown; prototype?: object } | undefined;
  const ctorName = typeof ctor?.name === 'string' ? ctor.name : '';
  const explicit = Object.hasOwn(error, 'name') || (ctor?.prototype !== undefined && Object.hasOwn(ctor.prototype, 'name'));
  if (explicit && typeof error.name === 'string' && error.name) return error.name;
  return ctorName || error.name || 'Error';
}

function readKwargs(error: Error): Record<string, unknown> {
  const kwargs = (error as { kwargs?: unknown }).kwargs;
  return isPlainObject(kwargs) ? kwargs : {};
}

function safeDescribe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
