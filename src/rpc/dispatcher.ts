/**
 * Endpoints and dispatch, with oslo's rules (docs/wire-format.md §5.2): the first endpoint
 * whose namespace matches and whose version is compatible, and that declares the method,
 * handles the request; otherwise NoSuchMethod (a compatible endpoint exists) or
 * UnsupportedVersion. Only methods listed in `methods` are callable: nothing else on the
 * object is reachable from the bus.
 */
import type { RequestContext } from './context.js';
import { NoSuchMethod, UnsupportedVersion } from './errors.js';
import { isCompatible } from './version.js';

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
