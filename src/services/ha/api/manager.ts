/**
 * `novarpc ha-api`: the instance HA API as a service (binary `masakari-api`), listening on
 * `[ha] listen`:`[ha] listen_port`, casting new notifications to the engine.
 */
import type { FastifyInstance } from 'fastify';
import type { Db } from '../../../db/index.js';
import type { Logger } from '../../../log/logger.js';
import { createContractClient } from '../../../rpc/contract.js';
import type { Endpoint, Transport } from '../../../rpc/index.js';
import { authenticator, identityServiceOf } from '../../api/manager.js';
import { insecureApiProblem, type ServiceConfig } from '../../config.js';
import type { Manager } from '../../service.js';
import { haEngineContract } from '../engine/contract.js';
import { buildHaApp } from './app.js';

/** What the HA API needs. */
export interface HaApiManagerDeps {
  db: Db;
  transport: Transport;
  config: ServiceConfig;
  logger: Logger;
}

/** Serves the instance HA API over HTTP. */
export class HaApiManager implements Manager {
  readonly binary = 'masakari-api';
  readonly topic = 'ha_api';
  readonly app: FastifyInstance;
  private address: string | undefined;

  constructor(private readonly deps: HaApiManagerDeps) {
    const { db, transport, config, logger } = deps;
    // The same rule as the Compute API's: noauth2 only on loopback unless allowed.
    const insecure = insecureApiProblem({ ...config.api, listen: config.ha.listen });
    if (insecure) throw new Error(`refusing to start the instance HA API: ${insecure.replace('[api] listen', '[ha] listen')}`);
    const identity = identityServiceOf(config, db);
    const engine = createContractClient(haEngineContract, transport, { topic: config.ha.topic });
    this.app = buildHaApp({ db, logger, authenticate: authenticator(config, identity), engine });
  }

  /** `http://host:port` once listening. */
  get url(): string | undefined {
    return this.address;
  }

  endpoints(): Endpoint[] {
    return [];
  }

  async init(): Promise<void> {
    const address = await this.app.listen({ host: this.deps.config.ha.listen, port: this.deps.config.ha.port });
    this.address = address.replace('0.0.0.0', '127.0.0.1');
  }

  async cleanup(): Promise<void> {
    await this.app.close();
  }
}
