/**
 * The shape of a service whose work is an HTTP server (the Compute API, the instance HA
 * API): no RPC endpoints, a fastify app that listens when the service starts and closes
 * (in-flight requests finished) when it stops.
 */
import type { FastifyInstance } from 'fastify';
import type { Db } from '../db/index.js';
import type { Logger } from '../log/logger.js';
import type { Endpoint, Transport } from '../rpc/index.js';
import type { ServiceConfig } from './config.js';
import type { Manager } from './service.js';

/** What an HTTP service's manager needs. */
export interface HttpManagerDeps {
  db: Db;
  transport: Transport;
  config: ServiceConfig;
  logger: Logger;
}

/** Where an HTTP service listens. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** A manager that serves `app` on `listen`. */
export abstract class HttpServiceManager implements Manager {
  abstract readonly binary: string;
  abstract readonly topic: string;
  private address: string | undefined;

  protected constructor(
    readonly app: FastifyInstance,
    private readonly listen: ListenAddress,
  ) {}

  /** `http://host:port` once listening. */
  get url(): string | undefined {
    return this.address;
  }

  endpoints(): Endpoint[] {
    return [];
  }

  async init(): Promise<void> {
    const address = await this.app.listen(this.listen);
    this.address = address.replace('0.0.0.0', '127.0.0.1');
  }

  async cleanup(): Promise<void> {
    await this.app.close();
  }
}
