/**
 * The scheduler's view of compute hosts: read from the services and compute_nodes tables
 * at most once a second, minus the claims in flight, and updated from each claim's
 * result. Concurrent requests therefore see each other's choices and spread over hosts
 * instead of all picking the same "most free" one.
 *
 * Under load no decision waits for that read: a view older than the TTL (but younger
 * than twice it) is still used while the next read runs in the background, and
 * a decision is one pass over the hosts in memory (no copy, no sort), so at 1,000 hosts
 * choosing costs well under a millisecond and the claim's transaction is the only I/O.
 */
import { isDbError, type ComputeNodeRow, type Db } from '../../db/index.js';
import type { InstancePlacement } from '../../db/compute-nodes.js';
import type { RequestContext } from '../../rpc/index.js';
import { hostStates, passes, ranksBefore, selectHosts, type HostState, type ResourceRequest, type Selection } from './host-selection.js';

/** The instance a claim places on its host, in the claim's own statement (see computeNodes.claimForInstance). */
export type Placement = InstancePlacement;

interface Amounts {
  memoryMb: number;
  diskGb: number;
  vcpus: number;
}

/** Cached host states with in-flight claims taken into account. */
export class HostStateCache {
  private cache: { at: number; states: Map<string, HostState> } | undefined;
  private refreshing: Promise<Map<string, HostState>> | undefined;
  private readonly pending = new Map<string, Amounts>();

  constructor(
    private readonly db: Db,
    private readonly serviceDownTimeSeconds: number,
    private readonly ttlMs = 1000,
  ) {}

  /** Every compute host, with free amounts net of claims in flight. */
  async states(context?: RequestContext): Promise<HostState[]> {
    return this.adjusted(await this.fresh(context));
  }

  /**
   * Picks the best host for the request and claims it there; on a refused claim, the next
   * best. Selection and the in-flight reservation happen in one synchronous step, so
   * concurrent requests see each other's choices. `host` is undefined when none fits.
   */
  async claimBest(
    context: RequestContext,
    request: ResourceRequest,
    place?: Placement,
  ): Promise<{ host: string | undefined; rejected: Selection['rejected']; choiceMs: number }> {
    let states = await this.fresh(context);
    const refused: string[] = [];
    let choiceMs = 0;
    for (;;) {
      const started = performance.now();
      const filtered = { ...request, ignoreHosts: [...(request.ignoreHosts ?? []), ...refused] };
      const best = this.best(states, filtered);
      choiceMs += performance.now() - started;
      // A view past its TTL may choose, but "no valid host" is only said from a current
      // one: a host enabled or brought back meanwhile must not fail the build.
      if (!best && !this.isCurrent(states)) {
        states = await this.current(context);
        continue;
      }
      // Why every host was turned down is worked out only when none fits (for the log).
      const rejected = best ? [] : selectHosts(this.adjusted(states), filtered).rejected;
      if (!best) return { host: undefined, rejected, choiceMs };
      if (await this.claim(context, best, request, place)) return { host: best, rejected, choiceMs };
      refused.push(best);
    }
  }

  /** The best host for the request, net of claims in flight: one pass, no copies. */
  private best(states: Map<string, HostState>, request: ResourceRequest): string | undefined {
    let best: HostState | undefined;
    const scratch: HostState = { host: '', availabilityZone: '', up: false, disabled: false, freeRamMb: 0, freeDiskGb: 0, freeVcpus: 0 };
    for (const state of states.values()) {
      const pending = this.pending.get(state.host);
      Object.assign(scratch, state);
      if (pending) {
        scratch.freeRamMb -= pending.memoryMb;
        scratch.freeDiskGb -= pending.diskGb;
        scratch.freeVcpus -= pending.vcpus;
      }
      if (!passes(scratch, request)) continue;
      if (!best || ranksBefore(scratch, best)) best = { ...scratch };
    }
    return best?.host;
  }

  private adjusted(states: Map<string, HostState>): HostState[] {
    return [...states.values()].map((state) => {
      const pending = this.pending.get(state.host);
      if (!pending) return { ...state };
      return {
        ...state,
        freeRamMb: state.freeRamMb - pending.memoryMb,
        freeDiskGb: state.freeDiskGb - pending.diskGb,
        freeVcpus: state.freeVcpus - pending.vcpus,
      };
    });
  }

  /**
   * Claims the request on `host` in the database, setting the host of `place`'s instance
   * in the same statement; false when the host no longer has room. An instance that no
   * longer waits for a host (UnexpectedTaskState, InstanceNotFound) propagates, and
   * nothing was claimed.
   */
  async claim(context: RequestContext, host: string, request: ResourceRequest, place?: Placement): Promise<boolean> {
    const amounts = { memoryMb: request.memoryMb, diskGb: request.diskGb, vcpus: request.vcpus };
    this.adjustPending(host, amounts, 1);
    try {
      const claimed = { memory_mb: request.memoryMb, local_gb: request.diskGb, vcpus: request.vcpus };
      if (place) {
        // One statement, no read-back: the cached state takes the claim itself.
        await this.db.computeNodes.claimForInstance(context, host, claimed, place);
        this.takeFromCache(host, amounts);
      } else {
        this.updateFromNode(await this.db.computeNodes.claim(context, host, claimed));
      }
      return true;
    } catch (error) {
      if (isDbError(error, 'ComputeResourcesUnavailable')) {
        this.cache = undefined;
        return false;
      }
      throw error;
    } finally {
      this.adjustPending(host, amounts, -1);
    }
  }

  /** Gives a claim back (the build was dropped before reaching the compute). */
  async release(context: RequestContext, host: string, request: ResourceRequest): Promise<void> {
    const node = await this.db.computeNodes.release(context, host, {
      memory_mb: request.memoryMb,
      local_gb: request.diskGb,
      vcpus: request.vcpus,
    });
    this.updateFromNode(node);
  }

  /** The current view; one just past its TTL is returned as it is while a fresh one loads. */
  private async fresh(context?: RequestContext): Promise<Map<string, HostState>> {
    const cached = this.cache;
    if (cached && Date.now() - cached.at < this.ttlMs) return cached.states;
    this.refreshing ??= this.load(context).finally(() => {
      this.refreshing = undefined;
    });
    if (cached && Date.now() - cached.at < 2 * this.ttlMs) {
      this.refreshing.catch(() => undefined); // the next decision retries; this one uses what it has
      return cached.states;
    }
    return this.refreshing;
  }

  /** True when `states` is the cached view and younger than the TTL. */
  private isCurrent(states: Map<string, HostState>): boolean {
    const cached = this.cache;
    return cached !== undefined && cached.states === states && Date.now() - cached.at < this.ttlMs;
  }

  /** A view younger than the TTL: the cached one, or the read in flight, or a new read. */
  private async current(context?: RequestContext): Promise<Map<string, HostState>> {
    const cached = this.cache;
    if (cached && Date.now() - cached.at < this.ttlMs) return cached.states;
    this.refreshing ??= this.load(context).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async load(context?: RequestContext): Promise<Map<string, HostState>> {
    const ctx = context ?? { isAdmin: true };
    const [services, nodes] = await Promise.all([
      this.db.services.list(ctx, { binary: 'nova-compute' }),
      this.db.computeNodes.list(ctx),
    ]);
    const states = new Map(hostStates(services, nodes, new Date(), this.serviceDownTimeSeconds).map((s) => [s.host, s]));
    this.cache = { at: Date.now(), states };
    return states;
  }

  private updateFromNode(node: ComputeNodeRow): void {
    const state = this.cache?.states.get(node.host);
    if (!state) return;
    state.freeRamMb = node.memory_mb - node.memory_mb_used;
    state.freeDiskGb = node.local_gb - node.local_gb_used;
    state.freeVcpus = node.vcpus - node.vcpus_used;
  }

  private takeFromCache(host: string, amounts: Amounts): void {
    const state = this.cache?.states.get(host);
    if (!state) return;
    state.freeRamMb -= amounts.memoryMb;
    state.freeDiskGb -= amounts.diskGb;
    state.freeVcpus -= amounts.vcpus;
  }

  private adjustPending(host: string, amounts: Amounts, sign: 1 | -1): void {
    const current = this.pending.get(host) ?? { memoryMb: 0, diskGb: 0, vcpus: 0 };
    const next = {
      memoryMb: current.memoryMb + sign * amounts.memoryMb,
      diskGb: current.diskGb + sign * amounts.diskGb,
      vcpus: current.vcpus + sign * amounts.vcpus,
    };
    if (next.memoryMb === 0 && next.diskGb === 0 && next.vcpus === 0) this.pending.delete(host);
    else this.pending.set(host, next);
  }
}
