/**
 * The API "manager": no RPC endpoints, just the HTTP server (an {@link HttpServiceManager}),
 * started when the service starts and closed (in-flight requests finished) when it stops.
 */
import type { Db } from '../../db/index.js';
import { createContractClient } from '../../rpc/contract.js';
import { computeContract } from '../compute/contract.js';
import { insecureApiProblem, isLoopbackAddress, type ServiceConfig } from '../config.js';
import { networkContract } from '../network/contract.js';
import { schedulerContract } from '../scheduler/contract.js';
import { HttpServiceManager, type HttpManagerDeps } from '../http-manager.js';
import { buildApiApp } from './app.js';
import { noauth2, tokenFile, type Authenticator } from './auth.js';
import { ComputeApi, type ApiClients } from './compute-api.js';
import { IdentityService } from './identity/tokens.js';
import { loadUsersFile } from './identity/users.js';
import { CloudMetrics } from '../telemetry/cloud-metrics.js';
import { meterHttp, traceHttp } from '../telemetry/http.js';

/** What the API manager needs. */
export type ApiManagerDeps = HttpManagerDeps;

/** Serves the Compute API over HTTP. */
export class ApiManager extends HttpServiceManager {
  readonly binary = 'nova-osapi_compute';
  readonly topic = 'osapi_compute';

  constructor(private readonly deps: ApiManagerDeps) {
    const { db, transport, config, logger } = deps;
    const insecure = insecureApiProblem(config.api);
    if (insecure) throw new Error(`refusing to start the API: ${insecure}`);
    // A bounded wait for the bus: a request answers 503 soon when the broker is down.
    const clients: ApiClients = {
      scheduler: createContractClient(schedulerContract, transport, { topic: config.topics.scheduler, sendTimeout: config.api.busTimeout }),
      compute: createContractClient(computeContract, transport, { topic: config.topics.compute, sendTimeout: config.api.busTimeout }),
      network: createContractClient(networkContract, transport, { topic: config.topics.network, sendTimeout: config.api.busTimeout }),
    };
    const api = new ComputeApi({ db, clients, config, logger });
    const identity = identityServiceOf(config, db);
    const app = buildApiApp({ api, clients, db, config, logger, authenticate: authenticator(config, identity), identity });
    const metrics = CloudMetrics.of(transport);
    if (metrics) meterHttp(app, metrics);
    traceHttp(app);
    super(app, { host: config.api.listen, port: config.api.port });
  }

  override async init(): Promise<void> {
    const { listen, authStrategy } = this.deps.config.api;
    if (authStrategy === 'noauth2' && !isLoopbackAddress(listen)) {
      this.deps.logger.warn({ listen }, 'INSECURE: auth_strategy = noauth2 on a non-loopback address (allow_insecure_noauth = true): anyone who can reach it can act as admin');
    }
    await super.init();
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
