/**
 * The request context that travels with every message as `_context_<key>` entries
 * (oslo.context / nova RequestContext keys). Unknown keys survive the round trip.
 */
import { randomUUID } from 'node:crypto';
import { InvalidContext } from './errors.js';
import { encodeContext, type EncodedContextEntries } from './wire/envelope.js';

/** How soft-deleted rows are read (nova's `read_deleted`). */
export type ReadDeleted = 'no' | 'yes' | 'only';

/** The known fields of a request context, camel-cased. */
export interface RequestContextFields {
  requestId?: string;
  globalRequestId?: string | null;
  userId?: string | null;
  projectId?: string | null;
  userName?: string | null;
  projectName?: string | null;
  domainId?: string | null;
  userDomainId?: string | null;
  projectDomainId?: string | null;
  roles?: readonly string[];
  isAdmin?: boolean;
  authToken?: string | null;
  readDeleted?: ReadDeleted;
  readOnly?: boolean;
  showDeleted?: boolean;
  remoteAddress?: string | null;
  /** Creation time, `%Y-%m-%dT%H:%M:%S.%f` on the wire. */
  timestamp?: string;
  /** Keys this library does not model, kept as they came (wire names). */
  extra?: Record<string, unknown>;
}

/** Context keys sent in notifications: oslo's "safe" list (auth_token is dropped). */
const NOTIFICATION_SAFE_KEYS = new Set([
  'user_id', 'project_id', 'domain_id', 'user_domain_id', 'project_domain_id', 'is_admin', 'request_id',
  'roles', 'user_name', 'project_name', 'domain_name', 'user_domain_name', 'project_domain_name',
  'service_user_id', 'service_user_domain_id', 'service_user_domain_name', 'service_project_id',
  'service_project_name', 'service_project_domain_id', 'service_project_domain_name', 'service_roles',
  'global_request_id', 'system_scope', 'user', 'domain', 'user_domain', 'project_domain', 'tenant',
]);

/** Wire keys this class reads into its own fields (everything else goes to `extra`). */
const MODELLED_KEYS = new Set([
  'request_id', 'global_request_id', 'user', 'user_id', 'project_id', 'tenant', 'project', 'user_name',
  'project_name', 'domain', 'user_domain', 'project_domain', 'roles', 'is_admin', 'auth_token',
  'read_deleted', 'read_only', 'show_deleted', 'remote_address', 'timestamp', 'user_identity',
  // transient keys the receiving side adds; never forwarded
  'client_timeout', 'msg_id', 'reply_q',
]);

/** The fields the constructor takes; anything else is refused (see {@link RequestContext}). */
const FIELD_NAMES = new Set<string>([
  'requestId', 'globalRequestId', 'userId', 'projectId', 'userName', 'projectName', 'domainId', 'userDomainId',
  'projectDomainId', 'roles', 'isAdmin', 'authToken', 'readDeleted', 'readOnly', 'showDeleted', 'remoteAddress',
  'timestamp', 'extra',
]);

/**
 * An immutable request context.
 *
 * The constructor takes camel-cased fields (`{ requestId, projectId }`) and refuses any
 * other key with an {@link InvalidContext} error: oslo's wire names
 * (`{ request_id, project_id }`) would otherwise be dropped without a word. A dict with
 * oslo's names goes through {@link RequestContext.fromDict}.
 *
 * @example
 * const ctx = new RequestContext({ userId: 'alice', projectId: 'p1', roles: ['member'] });
 * const same = RequestContext.fromDict({ user_id: 'alice', project_id: 'p1', roles: ['member'] });
 */
export class RequestContext implements Readonly<RequestContextFields> {
  readonly requestId: string;
  readonly globalRequestId: string | null;
  readonly userId: string | null;
  readonly projectId: string | null;
  readonly userName: string | null;
  readonly projectName: string | null;
  readonly domainId: string | null;
  readonly userDomainId: string | null;
  readonly projectDomainId: string | null;
  readonly roles: readonly string[];
  readonly isAdmin: boolean;
  readonly authToken: string | null;
  readonly readDeleted: ReadDeleted;
  readonly readOnly: boolean;
  readonly showDeleted: boolean;
  readonly remoteAddress: string | null;
  readonly timestamp: string;
  readonly extra: Readonly<Record<string, unknown>>;
  /** Its wire entries, encoded on first send (private fields survive the freeze). */
  #wire: EncodedContextEntries | undefined;

  /** @throws {@link InvalidContext} for a key that is not one of {@link RequestContextFields}. */
  constructor(fields: RequestContextFields = {}) {
    for (const key in fields) if (!FIELD_NAMES.has(key)) throw unknownField(fields);
    this.requestId = fields.requestId ?? generateRequestId();
    this.globalRequestId = fields.globalRequestId ?? null;
    this.userId = fields.userId ?? null;
    this.projectId = fields.projectId ?? null;
    this.userName = fields.userName ?? null;
    this.projectName = fields.projectName ?? null;
    this.domainId = fields.domainId ?? null;
    this.userDomainId = fields.userDomainId ?? null;
    this.projectDomainId = fields.projectDomainId ?? null;
    this.roles = Object.freeze([...(fields.roles ?? [])]);
    this.isAdmin = fields.isAdmin ?? false;
    this.authToken = fields.authToken ?? null;
    this.readDeleted = fields.readDeleted ?? 'no';
    this.readOnly = fields.readOnly ?? false;
    this.showDeleted = fields.showDeleted ?? false;
    this.remoteAddress = fields.remoteAddress ?? null;
    this.timestamp = fields.timestamp ?? formatPythonDatetime(new Date());
    this.extra = Object.freeze({ ...(fields.extra ?? {}) });
    Object.freeze(this);
  }

  /**
   * The `_context_*` members this context sends, encoded once: a context is
   * immutable, and a handler's nested calls send the context it received.
   * @internal used by RpcClient.
   */
  wireEntries(): EncodedContextEntries {
    this.#wire ??= encodeContext(this.toDict());
    return this.#wire;
  }

  /** An admin context with a fresh request id (nova's `get_admin_context`). */
  static admin(fields: RequestContextFields = {}): RequestContext {
    return new RequestContext({ isAdmin: true, roles: ['admin'], ...fields });
  }

  /** A copy with fields replaced. */
  with(overrides: RequestContextFields): RequestContext {
    return new RequestContext({ ...this.toFields(), ...overrides });
  }

  /** The plain fields. */
  toFields(): RequestContextFields {
    return {
      requestId: this.requestId, globalRequestId: this.globalRequestId, userId: this.userId,
      projectId: this.projectId, userName: this.userName, projectName: this.projectName,
      domainId: this.domainId, userDomainId: this.userDomainId, projectDomainId: this.projectDomainId,
      roles: [...this.roles], isAdmin: this.isAdmin, authToken: this.authToken, readDeleted: this.readDeleted,
      readOnly: this.readOnly, showDeleted: this.showDeleted, remoteAddress: this.remoteAddress,
      timestamp: this.timestamp, extra: { ...this.extra },
    };
  }

  /**
   * The wire dict (before `_context_` prefixing): oslo.context 5 keys, nova's keys,
   * and `tenant` for older peers; unknown keys that came in are sent on unchanged.
   * Keys whose value is null are left out: receivers read every key with a default.
   */
  toDict(): Record<string, unknown> {
    const dict = this.fullDict();
    for (const key of Object.keys(dict)) if (dict[key] === null) delete dict[key];
    return dict;
  }

  private fullDict(): Record<string, unknown> {
    const dash = (value: string | null) => value ?? '-';
    return {
      ...this.extra,
      user: this.userId,
      user_id: this.userId,
      project_id: this.projectId,
      project: this.projectId,
      tenant: this.projectId,
      domain: this.domainId,
      user_domain: this.userDomainId,
      project_domain: this.projectDomainId,
      user_name: this.userName,
      project_name: this.projectName,
      is_admin: this.isAdmin,
      read_only: this.readOnly,
      show_deleted: this.showDeleted,
      read_deleted: this.readDeleted,
      auth_token: this.authToken,
      request_id: this.requestId,
      global_request_id: this.globalRequestId,
      roles: [...this.roles],
      remote_address: this.remoteAddress,
      timestamp: this.timestamp,
      user_identity: [this.userId, this.projectId, this.domainId, this.userDomainId, this.projectDomainId].map(dash).join(' '),
    };
  }

  /** The context dict a notification carries: only oslo's safe keys (no auth token). */
  toNotificationDict(): Record<string, unknown> {
    return Object.fromEntries(Object.entries(this.fullDict()).filter(([key]) => NOTIFICATION_SAFE_KEYS.has(key)));
  }

  /** Builds a context from a wire dict, reading `project_id`, `tenant` or `project`. */
  static fromDict(dict: Record<string, unknown>): RequestContext {
    return RequestContext.fromEntries(dict, '');
  }

  /**
   * Builds a context from the `<prefix><key>` entries of `source` (a message's
   * `_context_*` entries, read in place), ignoring its other keys.
   */
  static fromEntries(source: Record<string, unknown>, prefix: string): RequestContext {
    // One pass over the keys (this runs for every message a server handles).
    const fields: RequestContextFields = {};
    let user: string | undefined;
    let tenant: string | undefined;
    let project: string | undefined;
    const extra: Record<string, unknown> = {};
    for (const entry in source) {
      if (prefix !== '' && !entry.startsWith(prefix)) continue;
      if (!Object.hasOwn(source, entry)) continue;
      const key = prefix === '' ? entry : entry.slice(prefix.length);
      const value = source[entry];
      const text = typeof value === 'string' ? value : null;
      switch (key) {
        case 'request_id': if (text !== null) fields.requestId = text; break;
        case 'global_request_id': fields.globalRequestId = text; break;
        case 'user_id': fields.userId = text; break;
        case 'user': if (text !== null) user = text; break;
        case 'project_id': fields.projectId = text; break;
        case 'tenant': if (text !== null) tenant = text; break;
        case 'project': if (text !== null) project = text; break;
        case 'user_name': fields.userName = text; break;
        case 'project_name': fields.projectName = text; break;
        case 'domain': fields.domainId = text; break;
        case 'user_domain': fields.userDomainId = text; break;
        case 'project_domain': fields.projectDomainId = text; break;
        case 'roles': fields.roles = Array.isArray(value) ? value.filter((role): role is string => typeof role === 'string') : []; break;
        case 'is_admin': fields.isAdmin = value === true; break;
        case 'auth_token': fields.authToken = text; break;
        case 'read_deleted': fields.readDeleted = value === 'yes' || value === 'only' ? value : 'no'; break;
        case 'read_only': fields.readOnly = value === true; break;
        case 'show_deleted': fields.showDeleted = value === true; break;
        case 'remote_address': fields.remoteAddress = text; break;
        case 'timestamp': if (text !== null) fields.timestamp = text; break;
        default: if (!MODELLED_KEYS.has(key)) extra[key] = value;
      }
    }
    fields.userId ??= user ?? null;
    fields.projectId ??= tenant ?? project ?? null;
    fields.extra = extra;
    return new RequestContext(fields);
  }
}

/** The error for constructor fields that are not RequestContextFields, pointing to fromDict for oslo's names. */
function unknownField(fields: object): InvalidContext {
  const unknown = Object.keys(fields).filter((key) => !FIELD_NAMES.has(key));
  return new InvalidContext(
    `RequestContext does not take ${unknown.map((key) => JSON.stringify(key)).join(', ')}: the constructor takes camelCase fields ` +
      `(requestId, projectId, userId, …); for a dict with oslo's names ({ request_id, project_id, … }) use RequestContext.fromDict(dict), ` +
      'and put keys of your own in `extra`',
  );
}

/** `req-<uuid4>`, as oslo.context generates request ids. */
export function generateRequestId(): string {
  return `req-${randomUUID()}`;
}

/** Python's `datetime.isoformat()` without timezone: `YYYY-MM-DDTHH:MM:SS.ffffff`. */
export function formatPythonDatetime(date: Date): string {
  return `${date.toISOString().slice(0, 23)}000`;
}
