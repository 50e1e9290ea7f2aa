/**
 * The reference cloud's own metrics, on the registry of its transport
 * (`transport.metrics.registry`): HTTP request durations in the api (OpenTelemetry's
 * HTTP metric name and attributes), servers by vm_state, builds in flight per compute,
 * scheduler decision seconds, database statement seconds by kind and the database
 * pool. Each family is created once per registry, whoever asks first.
 */
import type { Knex } from 'knex';
import { Gauge, type Registry } from 'prom-client';
import { FastCounter, FastHistogram, family, SourcedGauge } from '../../rpc/telemetry/instruments.js';
import type { Transport } from '../../rpc/index.js';

/** OpenTelemetry's recommended buckets for `http.server.request.duration`. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const DB_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const DECISION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** The cloud's metric families on one registry. */
export class CloudMetrics {
  readonly httpDuration: FastHistogram;
  readonly schedulerDecision: FastHistogram;
  readonly buildsInFlight: SourcedGauge;
  readonly dbStatement: FastHistogram;
  readonly dbStatementErrors: FastCounter;
  readonly dbPool: SourcedGauge;

  constructor(readonly registry: Registry) {
    this.httpDuration = family(registry, 'http_server_request_duration_seconds', FastHistogram, () =>
      new FastHistogram(
        {
          name: 'http_server_request_duration_seconds',
          help: 'Duration of HTTP server requests.',
          labelNames: ['http_request_method', 'http_route', 'http_response_status_code'],
          buckets: HTTP_BUCKETS,
        },
        registry,
      ),
    );
    this.schedulerDecision = family(registry, 'nova_scheduler_decision_seconds', FastHistogram, () =>
      new FastHistogram({ name: 'nova_scheduler_decision_seconds', help: 'Seconds the scheduler took to choose and claim a host.', labelNames: ['outcome'], buckets: DECISION_BUCKETS }, registry),
    );
    this.buildsInFlight = family(registry, 'nova_compute_builds_in_flight', SourcedGauge, () =>
      new SourcedGauge({ name: 'nova_compute_builds_in_flight', help: 'Server builds running now, per compute host.', labelNames: ['host'] }, registry),
    );
    this.dbStatement = family(registry, 'nova_db_statement_seconds', FastHistogram, () =>
      new FastHistogram({ name: 'nova_db_statement_seconds', help: 'Duration of database statements, by kind (select, insert, update, delete, other).', labelNames: ['kind'], buckets: DB_BUCKETS }, registry),
    );
    this.dbStatementErrors = family(registry, 'nova_db_statement_errors_total', FastCounter, () =>
      new FastCounter({ name: 'nova_db_statement_errors_total', help: 'Database statements that failed, by kind.', labelNames: ['kind'] }, registry),
    );
    this.dbPool = family(registry, 'nova_db_pool_connections', SourcedGauge, () =>
      new SourcedGauge({ name: 'nova_db_pool_connections', help: 'Database pool connections, by state (in_use, idle).', labelNames: ['state'] }, registry),
    );
  }

  /** The cloud metrics of a transport's registry, or undefined when metrics are off. */
  static of(transport: Transport): CloudMetrics | undefined {
    const registry = transport.metrics?.registry;
    return registry === undefined ? undefined : new CloudMetrics(registry);
  }

  /** Counts a build of `host` as in flight until it settles. */
  trackBuilds(host: string): { run<T>(work: () => Promise<T>): Promise<T>; stop(): void } {
    let running = 0;
    const stop = this.buildsInFlight.addSource(() => [[[host], running]]);
    return {
      async run(work) {
        running += 1;
        try {
          return await work();
        } finally {
          running -= 1;
        }
      },
      stop,
    };
  }

  /** Times one scheduling decision. */
  async timeDecision<T>(decide: () => Promise<T>, outcome: (result: T) => string): Promise<T> {
    const started = performance.now();
    let label = 'error';
    try {
      const result = await decide();
      label = outcome(result);
      return result;
    } finally {
      this.schedulerDecision.child([label]).observe((performance.now() - started) / 1000);
    }
  }

  /** Reports servers by vm_state, read from the database at each scrape. */
  watchServers(knex: Knex): void {
    if (this.registry.getSingleMetric('nova_servers') !== undefined) return;
    new Gauge({
      name: 'nova_servers',
      help: 'Servers (not deleted), by vm_state.',
      labelNames: ['vm_state'],
      registers: [this.registry],
      async collect() {
        const rows = (await knex('instances').where('deleted', 0).select('vm_state').count({ count: '*' }).groupBy('vm_state')) as Array<{ vm_state: string; count: number | string }>;
        this.reset();
        for (const row of rows) this.set({ vm_state: row.vm_state }, Number(row.count));
      },
    });
  }
}

/** Runs builds of `host`, counted in `nova_compute_builds_in_flight` when metrics are on. */
export function buildTracker(transport: Transport, host: string): <T>(work: () => Promise<T>) => Promise<T> {
  const tracker = CloudMetrics.of(transport)?.trackBuilds(host);
  return tracker === undefined ? (work) => work() : (work) => tracker.run(work);
}

/** Times scheduling decisions in `nova_scheduler_decision_seconds` when metrics are on. */
export function decisionTimer(transport: Transport): <T>(decide: () => Promise<T>, outcome: (result: T) => string) => Promise<T> {
  const metrics = CloudMetrics.of(transport);
  return metrics === undefined ? (decide) => decide() : (decide, outcome) => metrics.timeDecision(decide, outcome);
}
