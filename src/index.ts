/** novarpc: the RPC framework. The database layer is `novarpc/db`. */
export * from './rpc/index.js';
export { createLogger, type Logger } from './log/logger.js';
/** The zod novarpc's contracts are written with: `import { z, defineContract } from 'novarpc'`. */
export { z } from 'zod';
