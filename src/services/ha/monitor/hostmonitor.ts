/**
 * `novarpc hostmonitor` (binary `masakari-hostmonitor`): every `[ha] monitor_interval`
 * it reads the heartbeats of the compute services of hosts in failover segments; a host
 * silent for longer than `[ha] host_down_time` is reported to the instance HA API as a
 * COMPUTE_HOST notification (event STOPPED, host_status NORMAL, cluster_status OFFLINE),
 * once per failure, and its return as STARTED. Several monitors may report the same
 * failure: the API keeps one and stores the others `ignored`.
 */
import type { Db, ServiceRow } from '../../../db/index.js';
import type { Logger } from '../../../log/logger.js';
import type { Endpoint, RequestContext } from '../../../rpc/index.js';
import type { ServiceConfig } from '../../config.js';
import type { Manager, PeriodicTask } from '../../service.js';
import { OpenStackSession, sessionOptionsOf } from '../openstack-session.js';

/** What the monitor needs. */
export interface HostMonitorDeps {
  db: Db;
  config: ServiceConfig;
  logger: Logger;
  /** Sends a notification body; default the instance HA API of the catalog. */
  send?: (body: Record<string, unknown>) => Promise<{ status: number; body: unknown }>;
}

/** Statuses the API answers that mean "do not send this again" (Masakari's monitors do not retry them). */
const FINAL_STATUSES = [202, 400, 409];

/** Watches compute heartbeats and reports failures and recoveries. */
export class HostMonitorManager implements Manager {
  readonly binary = 'masakari-hostmonitor';
  readonly topic = 'ha_hostmonitor';
  /** Hosts reported down, with the heartbeat they were silent since. */
  private readonly reported = new Map<string, string>();
  private readonly send: NonNullable<HostMonitorDeps['send']>;

  constructor(private readonly deps: HostMonitorDeps) {
    const session = deps.send ? undefined : new OpenStackSession(sessionOptionsOf(deps.config));
    this.send = deps.send ?? ((body) => session!.request('instance-ha', 'POST', '/notifications', body));
  }

  endpoints(): Endpoint[] {
    return [];
  }

  periodicTasks(): PeriodicTask[] {
    return [{ name: 'check_host_heartbeats', intervalSeconds: this.deps.config.ha.monitorInterval, runImmediately: true, run: (ctx) => this.check(ctx) }];
  }

  /** One look at every monitored host. */
  async check(ctx: RequestContext, now: Date = new Date()): Promise<void> {
    const services = await this.deps.db.services.list(ctx, { binary: 'nova-compute' });
    for (const service of services) {
      if (!(await this.deps.db.haSegments.findHostByName(ctx, service.host))) continue;
      await this.checkHost(service, now);
    }
  }

  private async checkHost(service: ServiceRow, now: Date): Promise<void> {
    // last_seen_up moves only with heartbeats; updated_at also moves when an admin (or the
    // engine) disables or forces the service down, which must not look like a return.
    const heartbeat = service.last_seen_up ?? service.created_at;
    const silentFor = (now.getTime() - heartbeat.getTime()) / 1000;
    const epoch = heartbeat.toISOString();
    const down = silentFor > this.deps.config.ha.hostDownTime;
    const reportedEpoch = this.reported.get(service.host);
    if (down && reportedEpoch !== epoch) {
      if (await this.notify(service.host, 'STOPPED', now)) this.reported.set(service.host, epoch);
    } else if (!down && reportedEpoch !== undefined) {
      if (await this.notify(service.host, 'STARTED', now)) this.reported.delete(service.host);
    }
  }

  /** Sends one notification; true when it need not be sent again. */
  private async notify(host: string, event: 'STOPPED' | 'STARTED', now: Date): Promise<boolean> {
    const payload = { event, host_status: 'NORMAL', cluster_status: event === 'STOPPED' ? 'OFFLINE' : 'ONLINE' };
    const body = { notification: { type: 'COMPUTE_HOST', hostname: host, generated_time: now.toISOString(), payload } };
    try {
      const answer = await this.send(body);
      const final = FINAL_STATUSES.includes(answer.status);
      const log = answer.status === 202 ? this.deps.logger.info.bind(this.deps.logger) : this.deps.logger.warn.bind(this.deps.logger);
      log({ host, event, status: answer.status, answer: answer.status === 202 ? (answer.body as { notification?: { status?: string } })?.notification?.status : answer.body }, 'host notification sent');
      return final;
    } catch (error) {
      this.deps.logger.warn({ err: error, host, event }, 'could not send the host notification; will retry');
      return false;
    }
  }
}
