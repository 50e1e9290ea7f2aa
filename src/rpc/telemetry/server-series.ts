/**
 * The oslo server series an RPC server bumps, found per message without building a key
 * string: by method, then by (namespace, version, endpoint) among the few a method has.
 */
import { endpointLabel, type InvocationInstruments, type RpcMetrics } from './metrics.js';

/** What a server's series are labelled with besides the request. */
export interface ServerIdentity {
  exchange: string;
  topic: string;
  server: string;
}

interface MethodSeries {
  namespace: string | null;
  version: string;
  endpoint: object;
  instruments: InvocationInstruments;
}

/** Most series one server keeps resolved; beyond it they are looked up in {@link RpcMetrics} each time. */
const MAX_KEPT = 1024;

/** The series of one server, resolved once per (method, namespace, version, endpoint). */
export class ServerSeries {
  private readonly byMethod = new Map<string, MethodSeries[]>();
  private kept = 0;

  constructor(
    private readonly metrics: RpcMetrics,
    private readonly identity: ServerIdentity,
    /** The server's endpoints, in order (an unnamed endpoint is labelled by its position). */
    private readonly endpoints: readonly object[],
  ) {}

  /** The series of a request resolved to `endpoint` (only methods an endpoint has are counted, as oslo). */
  of(request: { namespace: string | null; version: string; method: string }, endpoint: { name?: string }): InvocationInstruments {
    const { namespace, version, method } = request;
    let forMethod = this.byMethod.get(method);
    const known = forMethod?.find((series) => series.namespace === namespace && series.version === version && series.endpoint === endpoint);
    if (known !== undefined) return known.instruments;
    const instruments = this.metrics.serverInvocation({
      ...this.identity,
      endpoint: endpointLabel(endpoint, this.endpoints.indexOf(endpoint)),
      namespace,
      version,
      method,
    });
    if (this.kept < MAX_KEPT) {
      if (forMethod === undefined) this.byMethod.set(method, (forMethod = []));
      forMethod.push({ namespace, version, endpoint, instruments });
      this.kept += 1;
    }
    return instruments;
  }
}
