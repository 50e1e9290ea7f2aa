/**
 * novarpc/rpc: oslo.messaging-compatible RPC for TypeScript. Cast, call, fanout and
 * notifications over RabbitMQ (`rabbit://`) or in process (`memory://`).
 */
export { getTransport, Transport, type TransportConfig } from './transport.js';
export { OPTION_SPECS, resolveOptions, type TransportOptions, type TransportOptionInput } from './transport-options.js';
export { parseTransportUrl, type ParsedTransportUrl, type BrokerHost } from './transport-url.js';
export { Target, type TargetFields } from './target.js';
export { RpcClient, type ClientOptions, type PrepareOptions, type ContextInput } from './client.js';
export { RpcServer, type ServerOptions, type ServerStats } from './server.js';
export { LocalDuplicateWindow, type ClaimOutcome, type DuplicateStore } from './duplicate-store.js';
export { SqlDuplicateStore, CLAIMS_TABLE, type SqlDuplicateStoreOptions } from './sql-duplicate-store.js';
export { resolveMethod, type Endpoint, type EndpointMethod } from './dispatcher.js';
export { RequestContext, generateRequestId, formatPythonDatetime, type RequestContextFields, type ReadDeleted } from './context.js';
export { Notifier, PRIORITIES, type NotifierOptions, type NotificationPriority } from './notifier.js';
export {
  NotificationListener,
  type NotificationEndpoint,
  type NotificationHandler,
  type NotificationListenerOptions,
  type NotificationMetadata,
  type NotificationTarget,
} from './notification-listener.js';
export * from './errors.js';
export {
  RpcMetrics,
  RPC_PROCESSING_BUCKETS,
  SERVER_LABELS,
  CLIENT_LABELS,
  type ClientSeries,
  type ServerSeries,
  type DeadLetterReason,
} from './telemetry/metrics.js';
export { isCompatible, parseVersion } from './version.js';
export { MemoryBus } from './drivers/memory/memory-bus.js';
export type { DeadLetter, DeadLetterStore, Driver } from './drivers/driver.js';
export { toWireFailure, fromWireFailure, type WireFailure } from './wire/failure.js';
export {
  defineContract,
  buildEndpoint,
  createContractClient,
  type Contract,
  type ContractClient,
  type ContractClientOptions,
  type ContractHandlers,
  type MethodKind,
  type MethodSpec,
  type MethodSpecs,
} from './contract.js';
/** The zod novarpc's contracts are written with: `import { z, defineContract } from 'novarpc'` (or `novarpc/rpc`). */
export { z } from 'zod';
