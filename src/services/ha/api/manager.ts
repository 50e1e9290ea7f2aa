/**
 * `novarpc ha-api`: the instance HA API as a service (binary `masakari-api`), listening on
 * `[ha] listen`:`[ha] listen_port`, casting new notifications to the engine.
 */
import { createContractClient } from '../../../rpc/contract.js';
import { authenticator, identityServiceOf } from '../../api/manager.js';
import { insecureApiProblem } from '../../config.js';
import { HttpServiceManager, type HttpManagerDeps } from '../../http-manager.js';
import { haEngineContract } from '../engine/contract.js';
import { buildHaApp } from './app.js';

/** What the HA API needs. */
export type HaApiManagerDeps = HttpManagerDeps;

/** Serves the instance HA API over HTTP. */
export class HaApiManager extends HttpServiceManager {
  readonly binary = 'masakari-api';
  readonly topic = 'ha_api';

  constructor(deps: HaApiManagerDeps) {
    const { db, transport, config, logger } = deps;
    // The same rule as the Compute API's: noauth2 only on loopback unless allowed.
    const insecure = insecureApiProblem({ ...config.api, listen: config.ha.listen });
    if (insecure) throw new Error(`refusing to start the instance HA API: ${insecure.replace('[api] listen', '[ha] listen')}`);
    const identity = identityServiceOf(config, db);
    const engine = createContractClient(haEngineContract, transport, { topic: config.ha.topic });
    super(buildHaApp({ db, logger, authenticate: authenticator(config, identity), engine }), { host: config.ha.listen, port: config.ha.port });
  }
}
