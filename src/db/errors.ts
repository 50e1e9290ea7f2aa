/**
 * Typed errors of the db layer. Every error has a stable `code` (Nova's exception names
 * where Nova had one) so the RPC layer can put it on the wire and a caller can branch on
 * it. Messages name the thing that was looked for, never a password.
 */

/** Resources whose lookup can fail with a {@link NotFoundError}. */
export type DbResource =
  | 'Instance'
  | 'InstanceMetadata'
  | 'Flavor'
  | 'Image'
  | 'ImageMetadata'
  | 'Service'
  | 'ComputeHost'
  | 'Network'
  | 'FixedIp'
  | 'InstanceAction'
  | 'Marker'
  | 'KeyPair'
  | 'SecurityGroup'
  | 'SecurityGroupRule'
  | 'FloatingIp'
  | 'FloatingIpPool'
  | 'Port'
  | 'Tag'
  | 'HaSegment'
  | 'HaHost'
  | 'HaNotification'
  | 'HaVmove';

/** Every code a db error can carry. */
export type DbErrorCode =
  | `${DbResource}NotFound`
  | 'DuplicateEntry'
  | 'UnexpectedTaskState'
  | 'ComputeResourcesUnavailable'
  | 'NoMoreFixedIps'
  | 'NoMoreFloatingIps'
  | 'InvalidRequest'
  | 'Forbidden'
  | 'DbConnectionError'
  | 'DbDeadlock'
  | 'DbError';

/** Base class of every error thrown by `src/db`. */
export class DbError extends Error {
  readonly code: DbErrorCode;

  constructor(code: DbErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A row the caller asked for does not exist, is soft-deleted, or belongs to another project. */
export class NotFoundError extends DbError {
  constructor(
    readonly resource: DbResource,
    /** The key that was looked up (uuid, id, host, ...). */
    readonly key: string | number,
    message = `${resource} ${String(key)} could not be found.`,
  ) {
    super(`${resource}NotFound`, message);
  }
}

/** An insert or update would violate a unique constraint. */
export class DuplicateEntryError extends DbError {
  constructor(
    readonly table: string | undefined,
    /** The unique key or the columns that clashed, as the database reported them. */
    readonly columns: string | undefined,
    options?: { cause?: unknown },
  ) {
    const where = [table && `table ${table}`, columns && `key ${columns}`].filter(Boolean).join(', ');
    super('DuplicateEntry', `Duplicate entry${where ? ` (${where})` : ''}.`, options);
  }
}

/** A compare-and-swap update lost: the row is not in the state the caller expected. */
export class ConflictError extends DbError {}

/** `task_state` was not one of the expected values (Nova's `expected_task_state`). */
export class UnexpectedTaskStateError extends ConflictError {
  constructor(
    readonly instanceUuid: string,
    readonly expected: ReadonlyArray<string | null>,
    readonly actual: string | null,
  ) {
    super(
      'UnexpectedTaskState',
      `Unexpected task state for instance ${instanceUuid}: expecting ${formatStates(expected)} but the actual state is ${String(actual)}.`,
    );
  }
}

/** Amounts of one resource a claim asked for and what was left. */
export interface ResourceShortfall {
  resource: 'memory_mb' | 'vcpus' | 'local_gb';
  requested: number;
  free: number;
}

/** A capacity claim on a compute node would exceed its memory, vCPUs or disk. */
export class ComputeResourcesUnavailableError extends ConflictError {
  constructor(
    readonly host: string,
    readonly shortfalls: readonly ResourceShortfall[],
    /** Why the host takes nothing at all (its service disabled or forced down), when that is the reason. */
    readonly serviceState?: string,
  ) {
    const detail = shortfalls.map((s) => `${s.resource} requested ${s.requested}, free ${s.free}`).join('; ');
    super(
      'ComputeResourcesUnavailable',
      serviceState ? `Host ${host} takes no new instances: its nova-compute service is ${serviceState}.` : `Insufficient compute resources on host ${host}: ${detail || 'claim refused'}.`,
    );
  }
}

/** Every fixed IP of the network is allocated. */
export class NoMoreFixedIpsError extends DbError {
  constructor(readonly networkId: number | undefined) {
    super(
      'NoMoreFixedIps',
      networkId === undefined
        ? 'Zero fixed IPs available in any network.'
        : `Zero fixed IPs available in network ${networkId}.`,
    );
  }
}

/** A request the rows' state refuses (a group still in use, an address already associated). */
export class InvalidRequestError extends DbError {
  constructor(message: string) {
    super('InvalidRequest', message);
  }
}

/** Every floating IP of the pool is allocated. */
export class NoMoreFloatingIpsError extends DbError {
  constructor(readonly pool: string) {
    super('NoMoreFloatingIps', `No more floating IPs in pool ${pool}.`);
  }
}

/** The context may see the row but not change it (e.g. a public image of another project). */
export class ForbiddenError extends DbError {
  constructor(message: string) {
    super('Forbidden', message);
  }
}

/** The database could not be reached. The message names host and database, never the password. */
export class DbConnectionError extends DbError {
  constructor(
    readonly target: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('DbConnectionError', message, options);
  }
}

/** A transaction kept deadlocking (or waiting for a lock) after every retry. */
export class DbDeadlockError extends DbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DbDeadlock', message, options);
  }
}

/** True when `error` is a db error, and, when `code` is given, carries that code. */
export function isDbError(error: unknown, code?: DbErrorCode): error is DbError {
  return error instanceof DbError && (code === undefined || error.code === code);
}

function formatStates(states: ReadonlyArray<string | null>): string {
  return states.length === 1 ? String(states[0]) : `one of ${states.map(String).join(', ')}`;
}
