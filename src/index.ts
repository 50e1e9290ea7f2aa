/**
 * novarpc: the RPC framework (the same surface as `novarpc/rpc`, plus the logger
 * factory). The database layer is `novarpc/db`. The surface is checked against
 * `etc/novarpc.api.md` (`npm run api:update` regenerates it after a deliberate change).
 *
 * @packageDocumentation
 */
export * from './rpc/index.js';
export { createLogger, type CreateLoggerOptions, type Logger } from './log/logger.js';
