/**
 * novarpc/rpc: oslo.messaging-compatible RPC for TypeScript. Cast, call, fanout and
 * notifications over RabbitMQ (`rabbit://`) or in process (`memory://`).
 *
 * This is the whole public surface (the same names as `novarpc`, without the logger
 * factory). It is curated by name: anything not listed here is internal and may change
 * in any release. The surface is checked against `etc/novarpc-rpc.api.md`
 * (`npm run api:update` regenerates it after a deliberate change).
 *
 * @packageDocumentation
 */

// Transport: the connection to the bus, and its options.
export { getTransport, Transport, type TransportConfig } from './transport.js';
export type { TransportOptions, TransportOptionInput } from './transport-options.js';
export { MemoryBus } from './drivers/memory/memory-bus.js';
export type { DeadLetter, DeadLetterStore } from './drivers/driver.js';

// Addressing, calling, serving.
export { Target, type TargetFields } from './target.js';
export { RpcClient, type ClientOptions, type PrepareOptions, type ContextInput } from './client.js';
export { RpcServer, type ServerOptions, type ServerStats } from './server.js';
export type { Endpoint, EndpointMethod } from './dispatcher.js';
// Deduplication of redelivered messages across a server's workers (ServerOptions.duplicateStore).
export { LocalDuplicateWindow, type ClaimOutcome, type DuplicateStore } from './duplicate-store.js';
export { SqlDuplicateStore, CLAIMS_TABLE, type SqlDuplicateStoreOptions } from './sql-duplicate-store.js';
export { RequestContext, generateRequestId, type RequestContextFields, type ReadDeleted } from './context.js';

// Typed contracts (zod schemas on both sides of the bus).
export {
  defineContract,
  buildEndpoint,
  createContractClient,
  type ArgsIn,
  type ArgsOut,
  type ResultOf,
  type Contract,
  type ContractClient,
  type ContractClientOptions,
  type ContractHandlers,
  type EndpointOptions,
  type MethodKind,
  type MethodSpec,
  type MethodSpecs,
} from './contract.js';
/** The zod novarpc's contracts are written with: `import { z, defineContract } from 'novarpc'` (or `novarpc/rpc`). */
export { z } from 'zod';

// Notifications.
export { Notifier, PRIORITIES, type NotifierOptions, type NotificationPriority } from './notifier.js';
export {
  NotificationListener,
  type NotificationEndpoint,
  type NotificationHandler,
  type NotificationListenerOptions,
  type NotificationMetadata,
  type NotificationResult,
  type NotificationTarget,
} from './notification-listener.js';

// Errors: every failure the framework reports, each with a stable `code`.
export * from './errors.js';

// Telemetry: the metrics a transport records when `metrics` is set.
export { RpcMetrics } from './telemetry/metrics.js';
