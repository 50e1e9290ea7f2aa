/**
 * Endpoints and dispatch, with oslo's rules (docs/wire-format.md §5.2): the first endpoint
 * whose namespace matches and whose version is compatible, and that declares the method,
 * handles the request; otherwise NoSuchMethod (a compatible endpoint exists) or
 * UnsupportedVersion. Only methods listed in `methods` are callable: nothing else on the
 * object is reachable from the bus.
 *
 * {@link RpcDispatcher} dispatches one request: builds its context, resolves the method,
 * runs the handler (a contract endpoint validates the arguments first), counts the
 * outcome, and while an asynchronous handler of a call runs, sends the call-monitor
 * heartbeats the caller asked for. A handler that returns a plain value (or throws) has
 * its outcome in the same tick: no promise is made for it.
 */
import type { Span } from '@opentelemetry/api';
import { RequestContext } from './context.js';
import { InvalidEndpoint, NoSuchMethod, RpcError, UnsupportedVersion } from './errors.js';
import type { IncomingMessage, ServerStats } from './handling/incoming-message.js';
import type { Logger } from '../log/logger.js';
import type { CallOutcome } from './reply-sender.js';
import { exceptionLabel, type InvocationInstruments, type RpcMetrics, type ServerSeries } from './telemetry/metrics.js';
import { ServerSeries as ResolvedServerSeries } from './telemetry/server-series.js';
import { isCompatible, parseVersion } from './version.js';
import { CONTEXT_ENTRY_PREFIX, type IncomingRequest } from './wire/messages.js';

/** A handler: receives the request context and the keyword arguments. */
export type EndpointMethod = (context: RequestContext, args: Record<string, unknown>) => unknown;

/** A set of RPC methods implementing one API version in one namespace. */
export interface Endpoint {
  /** Name in metrics: oslo.metrics' `endpoint` label (a Python endpoint's class name, e.g. `ComputeManager`); default: see `endpointLabel`. */
  name?: string;
  /** Version implemented ("X.Y"; default "1.0") and namespace (default: none). */
  target?: { version?: string; namespace?: string | null; legacyNamespaces?: readonly (string | null)[] };
  /** The callable methods, by wire name. */
  methods: Readonly<Record<string, EndpointMethod>>;
}

/** A request resolved to the handler that will run it. */
export interface ResolvedMethod {
  handler: EndpointMethod;
  endpoint: Endpoint;
}

const ENDPOINT_SHAPE = '{ target?: { version?: "X.Y", namespace?: string }, methods: { <name>: (context, args) => result } }';

/**
 * Checks endpoints when a server is built, so a wrong shape fails there and not on
 * every request. A plain object of functions (`[{ add: fn }]`, what oslo's endpoint
 * objects look like) is refused rather than guessed: its keys could be method names or
 * `target`/`name`, and a guess would make methods callable by accident.
 * @throws {@link InvalidEndpoint} naming the endpoint and showing the expected shape.
 */
export function validateEndpoints(endpoints: readonly unknown[]): asserts endpoints is readonly Endpoint[] {
  if (!Array.isArray(endpoints) || endpoints.length === 0) {
    throw new InvalidEndpoint(`An RPC server needs at least one endpoint, each ${ENDPOINT_SHAPE}`);
  }
  endpoints.forEach((endpoint: unknown, index) => {
    const where = `endpoint ${index}`;
    if (typeof endpoint !== 'object' || endpoint === null) throw new InvalidEndpoint(`${where} is ${String(endpoint)}; expected ${ENDPOINT_SHAPE}`);
    const { methods, target } = endpoint as Partial<Endpoint>;
    if (typeof methods !== 'object' || methods === null) {
      const functions = Object.keys(endpoint).filter((key) => typeof (endpoint as Record<string, unknown>)[key] === 'function');
      const hint = functions.length > 0 ? ` It looks like a plain object of functions (${functions.join(', ')}): wrap them as { methods: { ${functions.join(', ')} } }.` : '';
      throw new InvalidEndpoint(`${where} has no "methods" object; expected ${ENDPOINT_SHAPE}.${hint}`);
    }
    for (const [name, method] of Object.entries(methods)) {
      if (typeof method !== 'function') throw new InvalidEndpoint(`${where}: method "${name}" is ${typeof method}, not a function`);
    }
    if (target !== undefined && (typeof target !== 'object' || target === null)) throw new InvalidEndpoint(`${where}: "target" must be an object like { version: "1.0" }`);
    if (target?.version !== undefined) parseVersion(target.version);
  });
}

/** Finds the handler for (namespace, version, method) or throws the oslo error. */
export function resolveMethod(endpoints: readonly Endpoint[], namespace: string | null, version: string, method: string): ResolvedMethod {
  let foundCompatible = false;
  for (const endpoint of endpoints) {
    const target = endpoint.target;
    const servesNamespace = (target?.namespace ?? null) === namespace || (target?.legacyNamespaces?.includes(namespace) ?? false);
    if (!servesNamespace) continue;
    if (!isCompatible(target?.version ?? '1.0', version)) continue;
    if (!method.startsWith('_') && Object.hasOwn(endpoint.methods, method)) {
      const handler = endpoint.methods[method];
      if (typeof handler === 'function') return { handler, endpoint };
    }
    foundCompatible = true;
  }
  if (foundCompatible) throw new NoSuchMethod(method);
  throw new UnsupportedVersion(version, method);
}

/** What a dispatcher needs from its server. */
export interface DispatcherDeps {
  endpoints: readonly Endpoint[];
  stats: ServerStats;
  logger: Logger;
  metrics: RpcMetrics | undefined;
  /** The server's labels in the oslo metrics (endpoint, namespace, version and method are added). */
  labels: Pick<ServerSeries, 'exchange' | 'topic' | 'server'>;
}

/** Dispatches RPC requests to endpoints. */
export class RpcDispatcher {
  /** oslo metric series of this server, resolved once each (metrics on only). */
  private series: ResolvedServerSeries | undefined;

  constructor(private readonly deps: DispatcherDeps) {}

  /**
   * Runs the request's handler. The outcome comes back synchronously when the handler
   * returns a plain value (or throws); a promise only when the handler returned one, and
   * only then can heartbeats be due.
   */
  dispatch(message: IncomingMessage<IncomingRequest>, span?: Span): CallOutcome | Promise<CallOutcome> {
    const request = message.content;
    const context = RequestContext.fromEntries(request.document, CONTEXT_ENTRY_PREFIX);
    if (span?.isRecording()) span.setAttribute('openstack.request_id', context.requestId);
    let result: unknown;
    let meter: InvocationInstruments | undefined;
    let started = 0;
    try {
      const { handler, endpoint } = resolveMethod(this.deps.endpoints, request.namespace, request.version, request.method);
      if (this.deps.metrics !== undefined) {
        meter = this.meter(request, endpoint);
        meter.start.inc();
        started = performance.now();
      }
      result = handler(context, request.args);
    } catch (error) {
      return this.failed(error, context, request, meter);
    }
    if (!isThenable(result)) return this.succeeded(result, meter, started);
    const stopHeartbeat = this.startHeartbeat(message);
    return Promise.resolve(result)
      .then(
        (value) => this.succeeded(value, meter, started),
        (error: unknown) => this.failed(error, context, request, meter),
      )
      .finally(stopHeartbeat);
  }

  /** The oslo server series of a resolved method (only methods an endpoint has are counted, as oslo). */
  private meter(request: IncomingRequest, endpoint: Endpoint): InvocationInstruments {
    this.series ??= new ResolvedServerSeries(this.deps.metrics!, this.deps.labels, this.deps.endpoints);
    return this.series.of(request, endpoint);
  }

  private succeeded(result: unknown, meter?: InvocationInstruments, started = 0): CallOutcome {
    this.deps.stats.handled += 1;
    if (meter !== undefined) {
      meter.seconds.observe((performance.now() - started) / 1000);
      meter.end.inc();
    }
    return { ok: true, result: result === undefined ? null : result };
  }

  private failed(error: unknown, context: RequestContext, request: IncomingRequest, meter?: InvocationInstruments): CallOutcome {
    this.deps.stats.failed += 1;
    meter?.exception(exceptionLabel(error)).inc();
    const log = this.deps.logger.child({ request_id: context.requestId, method: request.method });
    if (error instanceof RpcError) log.warn({ code: error.code, reason: error.message }, 'request failed');
    else log.error({ err: error }, 'handler raised');
    return { ok: false, error };
  }

  /**
   * The heartbeat watchdog: call-monitor heartbeats every `_timeout`/2 s while the
   * handler runs, only when the caller asked (docs/wire-format.md §4.4).
   */
  private startHeartbeat(message: IncomingMessage<IncomingRequest>): () => void {
    const monitor = message.content.callMonitorTimeout;
    if (message.replyTo === undefined || monitor === null) return NO_HEARTBEAT;
    const interval = Math.trunc(monitor) / 2;
    if (!(interval >= 1)) {
      this.deps.logger.info({ callMonitorTimeout: monitor }, 'call-monitor timeout too small for heartbeats');
      return NO_HEARTBEAT;
    }
    const timer = setInterval(() => message.heartbeat(), interval * 1000);
    return () => clearInterval(timer);
  }
}

const NO_HEARTBEAT = (): void => {};

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}
