/**
 * One error class per failure kind, each with a stable `code`. The wire names
 * (`wireClass`/`wireModule`) are what travels in oslo's failure JSON; for the
 * dispatcher errors they are oslo.messaging's own, so Python peers see the same
 * classes a Python server would send.
 */

/** Base class of every error novarpc raises. */
export class RpcError extends Error {
  /** Stable machine-readable code, e.g. `MESSAGING_TIMEOUT`. */
  readonly code: string = 'RPC_ERROR';
  /** Class name used on the wire (oslo failure `class`). */
  static wireClass = 'RpcError';
  /** Module name used on the wire (oslo failure `module`). */
  static wireModule = 'novarpc.rpc';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  /** Keyword arguments sent as oslo failure `kwargs` (like nova's NovaException.kwargs). */
  get wireKwargs(): Record<string, unknown> {
    return {};
  }
}

/** No reply arrived within the call's timeout (or its call-monitor window). */
export class MessagingTimeout extends RpcError {
  override readonly code = 'MESSAGING_TIMEOUT';
  static override wireClass = 'MessagingTimeout';
  static override wireModule = 'oslo_messaging.exceptions';
  constructor(
    message: string,
    readonly details: { topic?: string; server?: string; method?: string; timeoutSeconds?: number; msgId?: string } = {},
  ) {
    super(message);
  }
}

/** The server has no endpoint method of that name (for a compatible version). */
export class NoSuchMethod extends RpcError {
  override readonly code = 'NO_SUCH_METHOD';
  static override wireClass = 'NoSuchMethod';
  static override wireModule = 'oslo_messaging.rpc.dispatcher';
  constructor(readonly method: string) {
    super(`Endpoint does not support RPC method ${method}`);
  }
}

/** No endpoint implements a version compatible with the one requested (or the namespace). */
export class UnsupportedVersion extends RpcError {
  override readonly code = 'UNSUPPORTED_VERSION';
  static override wireClass = 'UnsupportedVersion';
  static override wireModule = 'oslo_messaging.rpc.dispatcher';
  constructor(
    readonly version: string,
    readonly method?: string,
  ) {
    super(`Endpoint does not support RPC version ${version}. Attempted method: ${method ?? '<unknown>'}`);
  }
}

/** The arguments of a request do not fit the method (missing, unknown or wrong type). */
export class InvalidArguments extends RpcError {
  override readonly code = 'INVALID_ARGUMENTS';
  static override wireClass = 'InvalidArguments';
  static override wireModule = 'novarpc.rpc';
}

/** A client refused locally to send a version above its cap (oslo's RPCVersionCapError). */
export class VersionCapError extends RpcError {
  override readonly code = 'VERSION_CAP';
  static override wireClass = 'RPCVersionCapError';
  static override wireModule = 'oslo_messaging.rpc.client';
  constructor(
    readonly version: string,
    readonly versionCap: string,
  ) {
    super(`Requested message version, ${version} is incompatible. It needs to be equal in major version and less than or equal in minor version as the specified version cap ${versionCap}.`);
  }
}

/** The target cannot be used for that operation (e.g. call with fanout, no topic). */
export class InvalidTarget extends RpcError {
  override readonly code = 'INVALID_TARGET';
  static override wireClass = 'InvalidTarget';
  static override wireModule = 'oslo_messaging.exceptions';
}

/** A version string is not "X.Y" or "X.Y.Z" (a Target, an endpoint, a contract, a cap). */
export class InvalidVersion extends RpcError {
  override readonly code = 'INVALID_VERSION';
  static override wireClass = 'InvalidVersion';
  static override wireModule = 'novarpc.rpc';
}

/**
 * An endpoint handed to an RpcServer (or built from a contract) has the wrong shape: an
 * endpoint is `{ target?: { version, namespace }, methods: { name: (context, args) => result } }`.
 */
export class InvalidEndpoint extends RpcError {
  override readonly code = 'INVALID_ENDPOINT';
  static override wireClass = 'InvalidEndpoint';
  static override wireModule = 'novarpc.rpc';
}

/** A contract declaration is incoherent (a `since` above the contract version, a `_` name). */
export class InvalidContract extends RpcError {
  override readonly code = 'INVALID_CONTRACT';
  static override wireClass = 'InvalidContract';
  static override wireModule = 'novarpc.rpc';
}

/** A RequestContext was given fields it does not know (oslo's wire names go through `RequestContext.fromDict`). */
export class InvalidContext extends RpcError {
  override readonly code = 'INVALID_CONTEXT';
  static override wireClass = 'InvalidContext';
  static override wireModule = 'novarpc.rpc';
}

/** A server, listener or notifier was built with settings it cannot work with. */
export class InvalidConfiguration extends RpcError {
  override readonly code = 'INVALID_CONFIGURATION';
  static override wireClass = 'InvalidConfiguration';
  static override wireModule = 'novarpc.rpc';
}

/** A mandatory message (a reply) could not be routed to any queue. */
export class MessageUndeliverable extends RpcError {
  override readonly code = 'MESSAGE_UNDELIVERABLE';
  static override wireClass = 'MessageUndeliverable';
  static override wireModule = 'oslo_messaging.exceptions';
  constructor(
    message: string,
    readonly routingKey?: string,
  ) {
    super(message);
  }
}

/** A message is larger than the transport's `max_message_size`. */
export class PayloadTooLarge extends RpcError {
  override readonly code = 'PAYLOAD_TOO_LARGE';
  static override wireClass = 'PayloadTooLarge';
  static override wireModule = 'novarpc.rpc';
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`message of ${size} bytes exceeds max_message_size of ${limit} bytes`);
  }
}

/** A value cannot be sent as JSON (a function, a BigInt, a cycle, ...). */
export class SerializationError extends RpcError {
  override readonly code = 'SERIALIZATION_ERROR';
  static override wireClass = 'SerializationError';
  static override wireModule = 'novarpc.rpc';
}

/** A message received from the bus could not be decoded. */
export class MalformedMessage extends RpcError {
  override readonly code = 'MALFORMED_MESSAGE';
  static override wireClass = 'MalformedMessage';
  static override wireModule = 'novarpc.rpc';
}

/** The transport URL or an option in it is wrong. */
export class InvalidTransportUrl extends RpcError {
  override readonly code = 'INVALID_TRANSPORT_URL';
  static override wireClass = 'InvalidTransportURL';
  static override wireModule = 'oslo_messaging.transport';
}

/** The broker connection failed, was lost, or the transport is closed. */
export class TransportError extends RpcError {
  override readonly code = 'TRANSPORT_ERROR';
  static override wireClass = 'MessageDeliveryFailure';
  static override wireModule = 'oslo_messaging.exceptions';
}

/**
 * An exception raised on the remote side whose class is not in the caller's
 * allow-list: oslo's RemoteError (exc_type, value, traceback).
 */
export class RemoteError extends RpcError {
  override readonly code: string = 'REMOTE_ERROR';
  static override wireClass = 'RemoteError';
  static override wireModule = 'oslo_messaging.exceptions';
  constructor(
    /** The remote exception's class name. */
    readonly excType: string,
    /** The remote exception's message. */
    readonly value: string,
    /** The remote traceback lines (empty unless the peer sent them). */
    readonly traceback: string[] = [],
    /** The remote exception's module. */
    readonly excModule = '',
    /** The remote exception's args and kwargs, as sent. */
    readonly remoteArgs: unknown[] = [],
    readonly remoteKwargs: Record<string, unknown> = {},
  ) {
    super(`Remote error: ${excType} ${value}`);
  }
}

/**
 * A remote built-in exception (Python `builtins`, or a JS built-in such as TypeError),
 * rebuilt with the same class name and message. `name` is the remote class name.
 */
export class RemoteBuiltinError extends RemoteError {
  override readonly code = 'REMOTE_BUILTIN_ERROR';
  constructor(excType: string, value: string, traceback: string[], excModule: string, args: unknown[]) {
    super(excType, value, traceback, excModule, args);
    this.name = excType;
    this.message = value;
  }
}

/** The constructor shape of a novarpc error class that can travel on the wire. */
export type WireErrorClass = (new (...args: never[]) => Error) & { wireClass: string; wireModule: string };
