/** novarpc: the RPC framework. The database layer is `novarpc/db`. */
export * from './rpc/index.js';
export { createLogger, type Logger } from './log/logger.js';
