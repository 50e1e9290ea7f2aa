/**
 * `novarpc db-sync`: migrates the configured database and prints its version. While the
 * database is unreachable it says so on stderr at every retry ([database] max_retries,
 * retry_interval), instead of waiting in silence.
 */
import { createLogger } from '../log/logger.js';
import type { ServiceConfig } from '../services/config.js';

/** Runs the migrations; resolves once the database is at the latest version. */
export async function runDbSync(config: ServiceConfig, out: NodeJS.WritableStream): Promise<void> {
  const { createDb } = await import('../db/index.js');
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, destination: process.stderr });
  const db = await createDb({
    url: config.databaseConnection,
    migrate: true,
    logger,
    maxRetries: config.dbMaxRetries,
    retryIntervalMs: config.dbRetryInterval * 1000,
  });
  out.write(`database at ${await db.migrations.currentVersion()} (${db.description})\n`);
  await db.close();
}
