/**
 * The API "manager": no RPC endpoints, just the HTTP server, started when the service
 * starts and closed (in-flight requests finished) when it stops.
 */
import type { FastifyInstance } from 'fastify';
import type { Db } from '../../db/index.js';
import type { Logger } from '../../log/logger.js';
import { createContractClient } from '../../rpc/contract.js';
import type { Endpoint, Transport } from '../../rpc/index.js';
import { computeContract } from '../compute/contract.js';
import { insecureApiProblem, isLoopbackAddress, type ServiceConfig } from '../config.js';
import { schedulerContract } from '../scheduler/contract.js';
import type { Manager } from '../service.js';
import { buildApiApp } from './app.js';
import { noauth2, tokenFile, type Authenticator } from './auth.js';
import { ComputeApi } from './compute-api.js';

/** What the API manager needs. */
export interface ApiManagerDeps {
  db: Db;
  transport: Transport;
  config: ServiceConfig;
  logger: Logger;
}

/** Serves the Compute API over HTTP. */
export class ApiManager implements Manager {
  readonly binary = 'nova-osapi_compute';
  readonly topic = 'osapi_compute';
  readonly app: FastifyInstance;
  private address: string | undefined;

  constructor(private readonly deps: ApiManagerDeps) {
    const { db, transport, config, logger } = deps;
    const insecure = insecureApiProblem(config.api);
    if (insecure) throw new Error(`refusing to start the API: ${insecure}`);
    const api = new ComputeApi({
      db,
      // A bounded wait for the bus: a request answers 503 soon when the broker is down.
      scheduler: createContractClient(schedulerContract, transport, { topic: config.topics.scheduler, sendTimeout: config.api.busTimeout }),
      compute: createContractClient(computeContract, transport, { topic: config.topics.compute, sendTimeout: config.api.busTimeout }),
      config,
      logger,
    });
    this.app = buildApiApp({ api, db, config, logger, authenticate: authenticator(config) });
  }

  /** `http://host:port` once listening. */
  get url(): string | undefined {
    return this.address;
  }

  endpoints(): Endpoint[] {
    return [];
  }

  async init(): Promise<void> {
    const { listen, port, authStrategy } = this.config.api;
    if (authStrategy === 'noauth2' && !isLoopbackAddress(listen)) {
      this.deps.logger.warn({ listen }, 'INSECURE: auth_strategy = noauth2 on a non-loopback address (allow_insecure_noauth = true): anyone who can reach it can act as admin');
    }
    const address = await this.app.listen({ host: listen, port });
    this.address = address.replace('0.0.0.0', '127.0.0.1');
  }

  async cleanup(): Promise<void> {
    await this.app.close();
  }

  private get config(): ServiceConfig {
    return this.deps.config;
  }
}

/** The authenticator the config asks for. */
export function authenticator(config: ServiceConfig): Authenticator {
  if (config.api.authStrategy === 'tokens') {
    if (!config.api.tokenFile) throw new Error('auth_strategy = tokens needs [api] token_file');
    return tokenFile(config.api.tokenFile);
  }
  return noauth2();
}
