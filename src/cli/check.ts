/**
 * `novarpc check <service>`: a container health check. Exit 0 when the service of this
 * host has a row in `services` whose last heartbeat is within service_down_time.
 */
import { createDb, isServiceUp } from '../db/index.js';
import type { ServiceConfig } from '../services/config.js';

const BINARIES: Record<string, string> = {
  api: 'nova-osapi_compute',
  scheduler: 'nova-scheduler',
  compute: 'nova-compute',
  network: 'nova-network',
};

/** Returns the exit code: 0 up, 1 down or unknown. */
export async function checkService(config: ServiceConfig, service: string, out: NodeJS.WritableStream): Promise<number> {
  const binary = BINARIES[service] ?? service;
  const db = await createDb({ url: config.databaseConnection, maxRetries: 0 });
  try {
    const row = await db.services.getByHostAndBinary({ isAdmin: true }, config.host, binary);
    const up = isServiceUp(row, new Date(), config.serviceDownTime);
    out.write(`${binary} on ${config.host}: ${up ? 'up' : 'down'} (last heartbeat ${(row.updated_at ?? row.created_at).toISOString()})\n`);
    return up ? 0 : 1;
  } catch (error) {
    out.write(`${binary} on ${config.host}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await db.close();
  }
}
