/**
 * RPC contracts: a service's RPC surface declared once (method name, kind, the version
 * it appeared in, argument schema) and turned into both sides of the bus:
 *
 * - {@link buildEndpoint} makes the server's {@link Endpoint}: only declared methods are
 *   callable, and every request's arguments are validated on arrival, so a wrong
 *   argument is an {@link InvalidArguments} error for the caller instead of an
 *   exception deep in the handler. The `handlers` object must implement every method
 *   (the compiler says which one is missing) with the argument types the schema gives.
 * - {@link createContractClient} makes a typed client: one method per contract entry,
 *   `cast`/`fanout` ones resolve to void, `call` ones to the declared result type. Each
 *   request carries the version its method appeared in (as Nova's rpcapi does), so a
 *   client with a `versionCap` refuses locally what an older server could not handle.
 *
 * Schemas are zod 4 schemas; `z.input` types the client's arguments and `z.output` the
 * handler's (defaults and transforms apply on the server).
 *
 * @example
 * const contract = defineContract({
 *   topic: 'network',
 *   version: '1.1',
 *   methods: {
 *     allocate_for_instance: { kind: 'call', since: '1.0', args: z.object({ instance_id: z.string() }),
 *                              returns: z.object({ address: z.string() }) },
 *     deallocate_for_instance: { kind: 'cast', since: '1.1', args: z.object({ instance_id: z.string() }) },
 *   },
 * });
 * const endpoint = buildEndpoint(contract, {
 *   allocate_for_instance: async (ctx, { instance_id }) => ({ address: '10.0.0.2' }),
 *   deallocate_for_instance: async (ctx, { instance_id }) => {},
 * });
 * const network = createContractClient(contract, transport);
 * const { address } = await network.allocate_for_instance(ctx, { instance_id: 'abc' });
 */
import { z } from 'zod';
import { RpcClient, type ClientOptions, type ContextInput } from './client.js';
import type { RequestContext } from './context.js';
import type { Endpoint, EndpointMethod } from './dispatcher.js';
import { InvalidArguments, InvalidContract, InvalidEndpoint } from './errors.js';
import type { TargetFields } from './target.js';
import type { Transport } from './transport.js';
import { isCompatible, parseVersion } from './version.js';

/** How a method is sent: to one server (`cast`), with a reply (`call`), or to every server (`fanout`). */
export type MethodKind = 'cast' | 'call' | 'fanout';

/** One RPC method of a contract. */
export interface MethodSpec<Args extends z.ZodType = z.ZodType, Returns extends z.ZodType = z.ZodType> {
  kind: MethodKind;
  /** Contract version the method appeared in ("X.Y"); sent with each request. */
  since: string;
  /** Schema of the keyword arguments (a zod object schema, ideally strict). */
  args: Args;
  /** Schema of the result, for `call` methods (typing only; not checked at run time). */
  returns?: Returns;
  /** One line for docs and `--help`-style listings. */
  description?: string;
}

/** The methods of a contract, by wire name. */
export type MethodSpecs = Record<string, MethodSpec>;

/** A declared RPC surface. Create with {@link defineContract}. */
export interface Contract<M extends MethodSpecs = MethodSpecs> {
  /** Default topic of the service, e.g. `scheduler`. */
  readonly topic: string;
  /**
   * The endpoint's name, as a Python service's endpoint class (e.g. `SchedulerManager`):
   * oslo.metrics' `endpoint` label of the server series. Default: see {@link buildEndpoint}.
   */
  readonly name?: string;
  /** Current version ("X.Y"): what the server endpoint implements. */
  readonly version: string;
  /** Endpoint namespace; absent means the default one. */
  readonly namespace?: string;
  readonly methods: M;
}

/** Arguments a caller passes to a method (before defaults and transforms). */
export type ArgsIn<S extends MethodSpec> = z.input<S['args']>;
/** Arguments a handler receives (after validation). */
export type ArgsOut<S extends MethodSpec> = z.output<S['args']>;
/** Result of a method: the `returns` schema's output for calls, void otherwise. */
export type ResultOf<S extends MethodSpec> = S['kind'] extends 'call'
  ? S['returns'] extends z.ZodType
    ? z.output<S['returns']>
    : unknown
  : void;

/** The implementation a server must provide: one handler per method. */
export type ContractHandlers<M extends MethodSpecs> = {
  [K in keyof M]: (context: RequestContext, args: ArgsOut<M[K]>) => Promise<ResultOf<M[K]>> | ResultOf<M[K]>;
};

/** The typed client of a contract: one method per contract entry, plus `prepare`. */
export type ContractClient<M extends MethodSpecs> = {
  readonly [K in keyof M]: (context: ContextInput, args: ArgsIn<M[K]>) => Promise<ResultOf<M[K]>>;
} & {
  /** A client sending to another server/exchange or with other options, e.g. `prepare({ server: 'compute1' })`. */
  prepare(overrides: Pick<TargetFields, 'server' | 'exchange' | 'topic'> & ClientOptions): ContractClient<M>;
  /** The underlying untyped client. */
  readonly rpc: RpcClient;
};

/**
 * Declares a contract. Checks that every `since` is a valid version no newer than the
 * contract's version (in the same major version), so the history stays coherent.
 * @throws {@link InvalidContract} for a method named `_…` or a `since` outside the
 * contract's version; `InvalidVersion` for a malformed version.
 */
export function defineContract<const M extends MethodSpecs>(contract: Contract<M>): Contract<M> {
  parseVersion(contract.version);
  for (const [name, spec] of Object.entries(contract.methods)) {
    if (name.startsWith('_')) throw new InvalidContract(`RPC method ${name}: names starting with "_" are never callable`);
    if (!isCompatible(contract.version, spec.since)) {
      throw new InvalidContract(`RPC method ${name}: since ${spec.since} is not within contract version ${contract.version}`);
    }
  }
  return Object.freeze({ ...contract });
}

/** Options of {@link buildEndpoint}. */
export interface EndpointOptions {
  /**
   * The endpoint's name in metrics (oslo's `endpoint` label); default the contract's
   * `name`, and without one the server's default (`endpoint_<position>`).
   */
  name?: string;
  /** Called after a request's arguments were rejected (e.g. to log it). */
  onInvalid?: (method: string, error: InvalidArguments, context: RequestContext) => void;
}

/**
 * The server side of a contract: an {@link Endpoint} whose methods validate their
 * arguments against the schema, then run the handler with the parsed values.
 * @throws {@link InvalidEndpoint} when a declared method has no handler.
 */
export function buildEndpoint<M extends MethodSpecs>(
  contract: Contract<M>,
  handlers: ContractHandlers<M>,
  options: EndpointOptions = {},
): Endpoint {
  const methods: Record<string, EndpointMethod> = {};
  for (const [name, spec] of Object.entries(contract.methods)) {
    const handler = handlers[name as keyof M] as (context: RequestContext, args: unknown) => unknown;
    if (typeof handler !== 'function') throw new InvalidEndpoint(`RPC method ${name} of ${contract.topic} has no handler`);
    methods[name] = (context, args) => {
      const parsed = spec.args.safeParse(args ?? {});
      if (!parsed.success) {
        const error = new InvalidArguments(describeIssues(name, parsed.error));
        options.onInvalid?.(name, error, context);
        throw error;
      }
      return handler(context, parsed.data);
    };
  }
  return { name: options.name ?? contract.name, target: { version: contract.version, namespace: contract.namespace ?? null }, methods };
}

/** Options of {@link createContractClient}. */
export interface ContractClientOptions extends ClientOptions {
  /** Topic to send to; default the contract's. */
  topic?: string;
  /** Server (host) to send to, e.g. a compute host. */
  server?: string;
  /** Exchange; default the transport's control exchange. */
  exchange?: string;
}

/** The client side of a contract. Arguments are sent as given; the server validates them. */
export function createContractClient<M extends MethodSpecs>(
  contract: Contract<M>,
  transport: Transport,
  options: ContractClientOptions = {},
): ContractClient<M> {
  const { topic, server, exchange, ...clientOptions } = options;
  const rpc = new RpcClient(
    transport,
    definedFields({ topic: topic ?? contract.topic, server, exchange, namespace: contract.namespace }),
    clientOptions,
  );
  return wrapClient(contract, rpc);
}

function wrapClient<M extends MethodSpecs>(contract: Contract<M>, rpc: RpcClient): ContractClient<M> {
  const client: Record<string, unknown> = {
    rpc,
    prepare: (overrides: Pick<TargetFields, 'server' | 'exchange' | 'topic'> & ClientOptions) =>
      wrapClient(contract, rpc.prepare(overrides)),
  };
  for (const [name, spec] of Object.entries(contract.methods)) {
    // One client per method, prepared on first use and kept: its Target, destination and
    // timings are computed once, not per call.
    let prepared: RpcClient | undefined;
    const methodClient = () =>
      (prepared ??= rpc.prepare(spec.kind === 'call' ? { version: spec.since } : { version: spec.since, fanout: spec.kind === 'fanout' }));
    client[name] =
      spec.kind === 'call'
        ? (context: ContextInput, args: Record<string, unknown>) => methodClient().call(context, name, args ?? {})
        : (context: ContextInput, args: Record<string, unknown>) => methodClient().cast(context, name, args ?? {});
  }
  return Object.freeze(client) as ContractClient<M>;
}

/** "run_instance: instance_id: expected string, received number; request_spec: required". */
export function describeIssues(method: string, error: z.ZodError): string {
  const parts = error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.map(String).join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  const more = error.issues.length > 5 ? ` (and ${error.issues.length - 5} more)` : '';
  return `Invalid arguments for ${method}: ${parts.join('; ')}${more}`;
}

function definedFields(fields: TargetFields): TargetFields {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as TargetFields;
}
