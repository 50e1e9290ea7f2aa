/**
 * The scheduler manager: places each server on a live compute host, claims the host's
 * resources in `compute_nodes` and casts the build to `compute.<host>`. When no host
 * fits, or the build was already tried `scheduler_max_attempts` times, the server goes
 * to ERROR with a fault saying why.
 */
import { isDbError, type Db } from '../../db/index.js';
import type { Logger } from '../../log/logger.js';
import { buildEndpoint, createContractClient, type ContractClient, type ContractHandlers } from '../../rpc/contract.js';
import type { Endpoint, RequestContext, Transport } from '../../rpc/index.js';
import { computeContract } from '../compute/contract.js';
import type { ServiceConfig } from '../config.js';
import { elevated, errorMessage } from '../context.js';
import { failInstance } from '../instance-errors.js';
import { networkContract } from '../network/contract.js';
import type { Manager, PeriodicTask } from '../service.js';
import { TaskState, VmState } from '../states.js';
import type { FilterProperties, RequestSpec } from '../build-request.js';
import { schedulerContract } from './contract.js';
import { HostStateCache } from './host-state-cache.js';
import { decisionTimer } from '../telemetry/cloud-metrics.js';
import { OrphanedBuildSweeper } from './orphaned-builds.js';
import { failUnplacedBuilds } from './unplaced-builds.js';
import { selectHosts, type ResourceRequest } from './host-selection.js';

/** What the scheduler manager needs. */
export interface SchedulerManagerDeps {
  db: Db;
  transport: Transport;
  config: ServiceConfig;
  logger: Logger;
}

/** Nova's message when no host passes the filters. */
export const NO_VALID_HOST = 'No valid host was found. There are not enough hosts available.';

/** Places servers on compute hosts. */
export class SchedulerManager implements Manager {
  readonly binary = 'nova-scheduler';
  readonly topic: string;
  private readonly compute: ContractClient<typeof computeContract.methods>;
  private readonly hosts: HostStateCache;
  private readonly timeDecision: ReturnType<typeof decisionTimer>;

  constructor(private readonly deps: SchedulerManagerDeps) {
    this.topic = deps.config.topics.scheduler;
    this.compute = createContractClient(computeContract, deps.transport, { topic: deps.config.topics.compute });
    this.hosts = new HostStateCache(deps.db, deps.config.serviceDownTime);
    this.timeDecision = decisionTimer(deps.transport);
  }

  endpoints(): Endpoint[] {
    const onInvalid = (method: string, error: Error, ctx: RequestContext) =>
      this.log(ctx).warn({ method, reason: error.message }, 'invalid arguments');
    return [buildEndpoint(schedulerContract, this.handlers(), { onInvalid })];
  }

  periodicTasks(): PeriodicTask[] {
    const { periodicInterval, serviceDownTime, topics } = this.deps.config;
    const network = createContractClient(networkContract, this.deps.transport, { topic: topics.network });
    const deps = {
      db: this.deps.db,
      logger: this.deps.logger,
      serviceDownTime,
      network,
      reschedule: (ctx: RequestContext, id: string, spec: RequestSpec, retry: { num_attempts: number; hosts: string[]; exc: string }) =>
        this.runInstance(ctx, id, spec, { retry }),
    };
    const sweeper = new OrphanedBuildSweeper(deps);
    const tasks: PeriodicTask[] = [{ name: 'reschedule_orphaned_builds', intervalSeconds: periodicInterval, run: async (ctx) => void (await sweeper.sweep(ctx)) }];
    const { instanceBuildTimeout } = this.deps.config;
    if (instanceBuildTimeout > 0) {
      const unplaced = { db: this.deps.db, logger: this.deps.logger, buildTimeoutSeconds: instanceBuildTimeout };
      tasks.push({
        name: 'fail_unplaced_builds',
        intervalSeconds: Math.min(periodicInterval, instanceBuildTimeout),
        run: async (ctx) => void (await failUnplacedBuilds(unplaced, ctx)),
      });
    }
    return tasks;
  }

  private handlers(): ContractHandlers<typeof schedulerContract.methods> {
    return {
      run_instance: (ctx, args) => this.runInstance(ctx, args.instance_id, args.request_spec, args.filter_properties),
      // Placement reads compute_nodes, which each compute writes before it announces; the
      // announcement is accepted (Nova's computes send it) and only logged.
      update_service_capabilities: (ctx, args) => {
        this.log(ctx).debug({ host: args.host, service: args.service_name }, 'capabilities announced');
      },
      select_destinations: async (_ctx, args) => {
        const request = resourceRequest(args.request_spec, args.filter_properties);
        const { hosts } = selectHosts(await this.hosts.states(), request);
        return { hosts: hosts.map((host) => ({ host: host.host, free_ram_mb: host.freeRamMb })) };
      },
    };
  }

  /** Schedules one build attempt of a server. */
  async runInstance(ctx: RequestContext, instanceId: string, spec: RequestSpec, properties: FilterProperties): Promise<void> {
    const log = this.log(ctx).child({ instance_id: instanceId });
    const admin = elevated(ctx);
    const retry = properties.retry ?? { num_attempts: 0, hosts: [] };
    const attempt = retry.num_attempts + 1;
    if (attempt > this.deps.config.schedulerMaxAttempts) {
      const reason = `Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures for instance ${instanceId}.`;
      log.warn({ attempts: retry.num_attempts, hosts: retry.hosts, last_error: retry.exc }, reason);
      await failInstance(this.deps.db, admin, instanceId, `${reason} Last error: ${retry.exc ?? 'unknown'}`, null, log);
      return;
    }
    const request = resourceRequest(spec, properties);
    // The claim and the instance's host are one statement: a server deleted or moved
    // meanwhile (no longer building/scheduling) takes no claim.
    const place = { uuid: instanceId, expectedTaskState: TaskState.SCHEDULING, expectedVmState: VmState.BUILDING };
    let host: string | undefined;
    let timing = { choice_ms: 0, decision_ms: 0 };
    try {
      const started = performance.now();
      const claimed = await this.timeDecision(() => this.hosts.claimBest(admin, request, place), (result) => (result.host ? 'host_chosen' : 'no_valid_host'));
      host = claimed.host;
      timing = { choice_ms: round3(claimed.choiceMs), decision_ms: round3(performance.now() - started) };
      if (!host) log.warn({ rejected: claimed.rejected, request: { memory_mb: request.memoryMb, disk_gb: request.diskGb, vcpus: request.vcpus } }, 'no valid host');
    } catch (error) {
      if (!(isDbError(error, 'UnexpectedTaskState') || isDbError(error, 'InstanceNotFound'))) throw error;
      log.info({ reason: errorMessage(error) }, 'server no longer waits for a host; build dropped');
      return;
    }
    if (!host) {
      const reason = retry.exc ? `${NO_VALID_HOST} Last error: ${retry.exc}` : NO_VALID_HOST;
      await failInstance(this.deps.db, admin, instanceId, reason, null, log);
      return;
    }
    const nextProperties = { ...properties, retry: { num_attempts: attempt, hosts: [...retry.hosts, host], exc: retry.exc ?? null } };
    log.info({ chosen_host: host, attempt, ...timing, vm_state: VmState.BUILDING, task_state: TaskState.SCHEDULING }, `scheduled on ${host}; casting run_instance to compute.${host}`);
    await this.compute.prepare({ server: host }).run_instance(ctx, { instance_id: instanceId, request_spec: spec, filter_properties: nextProperties });
  }

  private log(ctx: RequestContext): Logger {
    return this.deps.logger.child({ request_id: ctx.requestId });
  }
}

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** The resources and constraints of a request. */
export function resourceRequest(spec: RequestSpec, properties: FilterProperties): ResourceRequest {
  const flavor = spec.instance_type;
  return {
    memoryMb: flavor.memory_mb,
    diskGb: flavor.root_gb + flavor.ephemeral_gb,
    vcpus: flavor.vcpus,
    availabilityZone: spec.availability_zone ?? null,
    ignoreHosts: properties.retry?.hosts ?? [],
  };
}
