/**
 * createDb: opens the pool for a connection URL, waits for the database, attaches SQL
 * logging and returns a Db whose resource functions are bound to it. Everything a Db
 * uses (pool, logger, open-transaction map) belongs to that Db; there is no global state.
 */
import type { Knex } from 'knex';
import { silentLogger } from '../log/logger.js';
import { computeNodeFunctions } from './compute-nodes.js';
import { parseDatabaseUrl, resolveDbConfig, type DbConfig, type DbDialect } from './config.js';
import { createKnex, waitForDatabase } from './connect.js';
import type { DbContext } from './context.js';
import { translateDbError } from './error-mapping.js';
import { fixedIpFunctions } from './fixed-ips.js';
import { flavorExtraFunctions } from './flavor-extras.js';
import { floatingIpFunctions } from './floating-ips.js';
import { flavorFunctions } from './flavors.js';
import { haNotificationFunctions } from './ha-notifications.js';
import { haSegmentFunctions } from './ha-segments.js';
import { haWorkflowFunctions } from './ha-workflows.js';
import { identityTokenFunctions } from './identity-tokens.js';
import { imageFunctions } from './images.js';
import { instanceActionFunctions } from './instance-actions.js';
import { instanceFaultFunctions } from './instance-faults.js';
import { instanceMetadataFunctions } from './instance-metadata.js';
import { instanceTagFunctions } from './instance-tags.js';
import { instanceFunctions } from './instances.js';
import { keyPairFunctions } from './key-pairs.js';
import { createMigrationSource } from './migrations/index.js';
import { networkFunctions } from './networks.js';
import { quotaFunctions } from './quotas.js';
import { securityGroupFunctions } from './security-groups.js';
import { serviceFunctions } from './services.js';
import { bindResource, sessionFor, withTransaction, type Bound, type DbSession } from './session.js';
import { attachSqlLogger } from './sql-log.js';

/** Every resource of the db API, each function taking a context then plain arguments. */
export interface DbResources {
  readonly instances: Bound<typeof instanceFunctions>;
  readonly instanceMetadata: Bound<typeof instanceMetadataFunctions>;
  readonly instanceFaults: Bound<typeof instanceFaultFunctions>;
  readonly instanceActions: Bound<typeof instanceActionFunctions>;
  readonly flavors: Bound<typeof flavorFunctions>;
  readonly images: Bound<typeof imageFunctions>;
  readonly services: Bound<typeof serviceFunctions>;
  readonly computeNodes: Bound<typeof computeNodeFunctions>;
  readonly networks: Bound<typeof networkFunctions>;
  readonly fixedIps: Bound<typeof fixedIpFunctions>;
  readonly flavorExtras: Bound<typeof flavorExtraFunctions>;
  readonly quotas: Bound<typeof quotaFunctions>;
  readonly identityTokens: Bound<typeof identityTokenFunctions>;
  readonly keyPairs: Bound<typeof keyPairFunctions>;
  readonly securityGroups: Bound<typeof securityGroupFunctions>;
  readonly floatingIps: Bound<typeof floatingIpFunctions>;
  readonly instanceTags: Bound<typeof instanceTagFunctions>;
  readonly haSegments: Bound<typeof haSegmentFunctions>;
  readonly haNotifications: Bound<typeof haNotificationFunctions>;
  readonly haWorkflows: Bound<typeof haWorkflowFunctions>;
}

/** Schema migrations of a Db. */
export interface DbMigrations {
  /** Runs every pending migration; returns the names it ran. */
  latest(): Promise<string[]>;
  /** Reverts every migration; returns the names it reverted. */
  rollbackAll(): Promise<string[]>;
  /** Name of the last migration run, or "none". */
  currentVersion(): Promise<string>;
}

/** A database: the resource functions plus transactions, migrations and shutdown. */
export interface Db extends DbResources {
  readonly dialect: DbDialect;
  /** "database nova on db1:3306" or "SQLite database /var/lib/novarpc/nova.db": never a password. */
  readonly description: string;
  /** The underlying knex instance, for what the API does not cover. Queries on it are logged too. */
  readonly knex: Knex;
  readonly migrations: DbMigrations;
  /**
   * Runs `fn` in one transaction; use the resources it is given (not the Db's) inside.
   * A deadlock re-runs `fn`, so it must have no side effects outside the database.
   */
  transaction<T>(ctx: DbContext, fn: (tx: DbResources) => Promise<T>): Promise<T>;
  /** Destroys the pool. */
  close(): Promise<void>;
}

/**
 * Connects to the database named by `config.url` (retrying an unreachable server as
 * configured) and returns the Db. Rejects with DbConnectionError naming host and database.
 */
export async function createDb(config: DbConfig): Promise<Db> {
  const resolved = resolveDbConfig(config);
  const target = parseDatabaseUrl(resolved.url);
  const logger = (resolved.logger ?? silentLogger()).child({ component: 'db' });
  const knex = createKnex(target, resolved, logger);
  const transactionRequests = new Map<string, string | undefined>();
  const detachSqlLogger = attachSqlLogger(knex, {
    logger,
    dialect: target.dialect,
    sqlEcho: resolved.sqlEcho,
    slowQueryMs: resolved.slowQueryMs,
    transactionRequests,
  });
  const session: DbSession = {
    knex,
    pool: knex,
    dialect: target.dialect,
    inTransaction: false,
    statementContext: { requestId: undefined },
    transactionRequests,
    targetDescription: target.description,
    deadlockRetries: resolved.deadlockRetries,
    deadlockRetryIntervalMs: resolved.deadlockRetryIntervalMs,
  };
  const close = async (): Promise<void> => {
    detachSqlLogger();
    await knex.destroy();
  };
  try {
    await waitForDatabase(knex, target, resolved, logger);
    const migrations = createMigrations(knex);
    if (resolved.migrate) await migrations.latest();
    return {
      ...bindResources(session),
      dialect: target.dialect,
      description: target.description,
      knex,
      migrations,
      transaction: (ctx, fn) =>
        withTransaction(sessionFor(session, ctx), (tx) => fn(bindResources(tx))).catch((error: unknown) => {
          throw translateDbError(error, target.description);
        }),
      close,
    };
  } catch (error) {
    await close();
    throw translateDbError(error, target.description);
  }
}

function bindResources(session: DbSession): DbResources {
  return {
    instances: bindResource(session, instanceFunctions),
    instanceMetadata: bindResource(session, instanceMetadataFunctions),
    instanceFaults: bindResource(session, instanceFaultFunctions),
    instanceActions: bindResource(session, instanceActionFunctions),
    flavors: bindResource(session, flavorFunctions),
    images: bindResource(session, imageFunctions),
    services: bindResource(session, serviceFunctions),
    computeNodes: bindResource(session, computeNodeFunctions),
    networks: bindResource(session, networkFunctions),
    fixedIps: bindResource(session, fixedIpFunctions),
    flavorExtras: bindResource(session, flavorExtraFunctions),
    quotas: bindResource(session, quotaFunctions),
    identityTokens: bindResource(session, identityTokenFunctions),
    keyPairs: bindResource(session, keyPairFunctions),
    securityGroups: bindResource(session, securityGroupFunctions),
    floatingIps: bindResource(session, floatingIpFunctions),
    instanceTags: bindResource(session, instanceTagFunctions),
    haSegments: bindResource(session, haSegmentFunctions),
    haNotifications: bindResource(session, haNotificationFunctions),
    haWorkflows: bindResource(session, haWorkflowFunctions),
  };
}

function createMigrations(knex: Knex): DbMigrations {
  const config = { migrationSource: createMigrationSource() };
  return {
    latest: async () => {
      const [, names] = (await knex.migrate.latest(config)) as [number, string[]];
      return names;
    },
    rollbackAll: async () => {
      const [, names] = (await knex.migrate.rollback(config, true)) as [number, string[]];
      return names;
    },
    currentVersion: () => knex.migrate.currentVersion(config),
  };
}
