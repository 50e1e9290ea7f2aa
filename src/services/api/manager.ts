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
import { networkContract } from '../network/contract.js';
import { schedulerContract } from '../scheduler/contract.js';
import type { Manager } from '../service.js';
import { buildApiApp } from './app.js';
import { noauth2, tokenFile, type Authenticator } from './auth.js';
import { ComputeApi } from './compute-api.js';
import { IdentityService } from './identity/tokens.js';
import { loadUsersFile } from './identity/users.js';
import { CloudMetrics } from '../telemetry/cloud-metrics.js';
import { meterHttp, traceHttp } from '../telemetry/http.js';

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
      network: createContractClient(networkContract, transport, { topic: config.topics.network, sendTimeout: config.api.busTimeout }),
      config,
      logger,
    });
    const identity = identityServiceOf(config, db);
    this.app = buildApiApp({ api, db, config, logger, authenticate: authenticator(config, identity), identity });
    const metrics = CloudMetrics.of(transport);
    if (metrics) meterHttp(this.app, metrics);
    traceHttp(this.app);
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

/** The built-in Identity endpoint's service, when `[identity] users_file` is set. */
export function identityServiceOf(config: ServiceConfig, db: Db): IdentityService | undefined {
  if (!config.identity.usersFile) return undefined;
  return new IdentityService({ db, users: loadUsersFile(config.identity.usersFile), tokenExpiration: config.identity.tokenExpiration });
}

/** The authenticator the config asks for. */
export function authenticator(config: ServiceConfig, identity?: IdentityService): Authenticator {
  if (config.api.authStrategy === 'keystone') {
    if (!identity) throw new Error('auth_strategy = keystone needs [identity] users_file');
    return identity.authenticator();
  }
  if (config.api.authStrategy === 'tokens') {
    if (!config.api.tokenFile) throw new Error('auth_strategy = tokens needs [api] token_file');
    return tokenFile(config.api.tokenFile);
  }
  return noauth2();
}
