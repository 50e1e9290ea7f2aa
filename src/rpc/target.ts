/**
 * A Target names where a message goes or what a server listens to, as in
 * oslo.messaging: exchange, topic, server, fanout, version, namespace. It is an
 * immutable value; `with()` returns a copy with overrides.
 */
import { InvalidTarget } from './errors.js';
import { parseVersion } from './version.js';
import { describeDestination } from './wire/topology.js';

/** The fields of a {@link Target}. All optional; which ones are needed depends on the use. */
export interface TargetFields {
  /** Control exchange; default: the transport's `control_exchange`. */
  exchange?: string;
  /** Topic, e.g. `compute`. */
  topic?: string;
  /** Server (host) name, e.g. `compute-1`; routes to `<topic>.<server>`. */
  server?: string;
  /** Send to every server of the topic (casts only). */
  fanout?: boolean;
  /** API version "X.Y" sent with requests, or implemented by an endpoint. */
  version?: string;
  /** Endpoint namespace; absent means the default (null) namespace. */
  namespace?: string;
}

/** Immutable message destination / listening address. */
export class Target implements Readonly<TargetFields> {
  readonly exchange?: string;
  readonly topic?: string;
  readonly server?: string;
  readonly fanout?: boolean;
  readonly version?: string;
  readonly namespace?: string;

  constructor(fields: TargetFields = {}) {
    for (const key of ['exchange', 'topic', 'server', 'namespace'] as const) {
      const value = fields[key];
      if (value !== undefined && (typeof value !== 'string' || value === '')) {
        throw new InvalidTarget(`Target ${key} must be a non-empty string, got ${JSON.stringify(value)}`);
      }
    }
    if (fields.version !== undefined) parseVersion(fields.version);
    this.exchange = fields.exchange;
    this.topic = fields.topic;
    this.server = fields.server;
    this.fanout = fields.fanout;
    this.version = fields.version;
    this.namespace = fields.namespace;
    Object.freeze(this);
  }

  /** A copy of this target with the given fields replaced. */
  with(overrides: TargetFields): Target {
    return new Target({ ...this.toFields(), ...definedOnly(overrides) });
  }

  /** The plain fields of this target. */
  toFields(): TargetFields {
    return definedOnly({
      exchange: this.exchange,
      topic: this.topic,
      server: this.server,
      fanout: this.fanout,
      version: this.version,
      namespace: this.namespace,
    });
  }

  /** A short human description, e.g. `compute.host1 (exchange nova)`. */
  describe(): string {
    const where = describeDestination(this.topic, this.server, this.fanout);
    return this.exchange ? `${where} (exchange ${this.exchange})` : where;
  }
}

function definedOnly<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as T;
}
