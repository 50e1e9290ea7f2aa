/**
 * Metrics of the cloud as separate worker processes on RabbitMQ and MariaDB: each
 * worker serves `/metrics` on a port of its own; after a boot run every exposition is
 * well-formed and its counters equal the calls the boots made, and a real Prometheus
 * scraping the four workers returns the oslo series of each through its query API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProcessCloud, waitSettled, type ProcessCloud } from '../support/process-cloud.js';
import { freePort } from '../support/net.js';
import { parseExposition, samples, total, type Family } from '../support/prom-text.js';
import { startPrometheus, type PrivatePrometheus } from '../support/prometheus.js';
import { brokerUrl, databaseUrl } from '../support/services.js';

const BOOTS = 3;
const WORKERS = ['api', 'scheduler', 'network', 'compute-cmp-a'] as const;

describe('metrics of separate worker processes', () => {
  let cloud: ProcessCloud;
  let prometheus: PrivatePrometheus | undefined;
  const ports = new Map<string, number>();
  const scrape = async (worker: string): Promise<Map<string, Family>> => {
    const response = await fetch(`http://127.0.0.1:${ports.get(worker)}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseExposition(await response.text());
  };

  beforeAll(async () => {
    for (const worker of WORKERS) ports.set(worker, await freePort());
    cloud = await startProcessCloud({
      transportUrl: await brokerUrl(),
      databaseServerUrl: await databaseUrl(),
      computes: ['cmp-a'],
      workerEnv: (name) => ({ NOVARPC_METRICS_LISTEN_PORT: String(ports.get(name)) }),
    });
    const ids: string[] = [];
    for (let i = 0; i < BOOTS; i++) ids.push(await cloud.boot(`metered-${i}`));
    const servers = await waitSettled(cloud, ids, 60_000);
    expect([...servers.values()].map((server) => server?.status)).toEqual(Array(BOOTS).fill('ACTIVE'));
  }, 180_000);

  afterAll(async () => {
    await prometheus?.stop();
    await cloud?.stop();
  }, 60_000);

  it('each worker exposes well-formed metrics whose counts equal the calls the boots made', async () => {
    const { topics } = cloud;
    const api = await scrape('api');
    const cast = { call_type: 'cast', topic: topics.scheduler, method: 'run_instance', process: 'nova-api' };
    expect(total(api, 'oslo_messaging_rpc_client_invocation_start_total', cast)).toBe(BOOTS);
    expect(total(api, 'oslo_messaging_rpc_client_invocation_end_total', cast)).toBe(BOOTS);
    expect(total(api, 'oslo_messaging_rpc_client_processing_seconds_count', cast)).toBe(BOOTS);
    const posts = { http_request_method: 'POST', http_route: '/v2.1/servers', http_response_status_code: '202' };
    expect(total(api, 'http_server_request_duration_seconds_count', posts)).toBe(BOOTS);
    expect(samples(api, 'http_server_request_duration_seconds_count').every((sample) => !/[0-9a-f]{8}-[0-9a-f]{4}/.test(sample.labels.http_route!))).toBe(true);
    expect(total(api, 'nova_servers', { vm_state: 'active' })).toBe(BOOTS);
    expect(samples(api, 'process_cpu_user_seconds_total')).toHaveLength(1);

    const scheduler = await scrape('scheduler');
    const scheduled = { topic: topics.scheduler, server: 'scheduler-host', method: 'run_instance', process: 'nova-scheduler' };
    expect(total(scheduler, 'oslo_messaging_rpc_server_invocation_start_total', scheduled)).toBe(BOOTS);
    expect(total(scheduler, 'oslo_messaging_rpc_server_invocation_end_total', scheduled)).toBe(BOOTS);
    expect(total(scheduler, 'oslo_messaging_rpc_server_processing_seconds_count', scheduled)).toBe(BOOTS);
    expect(total(scheduler, 'oslo_messaging_rpc_client_invocation_end_total', { call_type: 'cast', topic: topics.compute, server: 'cmp-a', method: 'run_instance' })).toBe(BOOTS);
    expect(total(scheduler, 'nova_scheduler_decision_seconds_count', { outcome: 'host_chosen' })).toBe(BOOTS);

    const compute = await scrape('compute-cmp-a');
    expect(total(compute, 'oslo_messaging_rpc_server_invocation_end_total', { topic: topics.compute, server: 'cmp-a', method: 'run_instance', endpoint: 'ComputeManager' })).toBe(BOOTS);
    const allocate = { call_type: 'call', topic: topics.network, method: 'allocate_for_instance', process: 'nova-compute' };
    expect(total(compute, 'oslo_messaging_rpc_client_invocation_end_total', allocate)).toBe(BOOTS);
    expect(total(compute, 'oslo_messaging_rpc_client_processing_seconds_count', allocate)).toBe(BOOTS);
    expect(total(compute, 'nova_compute_builds_in_flight', { host: 'cmp-a' })).toBe(0);
    expect(total(compute, 'novarpc_publish_confirm_seconds_count')).toBeGreaterThanOrEqual(BOOTS);
    expect(total(compute, 'nova_db_statement_seconds_count', { kind: 'update' })).toBeGreaterThan(0);
    expect(total(compute, 'nova_db_pool_connections', { state: 'in_use' }) + total(compute, 'nova_db_pool_connections', { state: 'idle' })).toBeGreaterThan(0);

    const network = await scrape('network');
    const allocated = { topic: topics.network, method: 'allocate_for_instance', process: 'nova-network' };
    expect(total(network, 'oslo_messaging_rpc_server_invocation_end_total', allocated)).toBe(BOOTS);
    expect(total(network, 'oslo_messaging_rpc_server_exception_total')).toBe(0);

    for (const families of [api, scheduler, compute, network]) {
      expect(families.get('oslo_messaging_rpc_server_processing_seconds')?.type).toBe('histogram');
      expect(families.get('novarpc_publisher_channels')?.type).toBe('gauge');
    }
  });

  it('a real Prometheus scraping the four workers returns the oslo series of each', async () => {
    prometheus = await startPrometheus(WORKERS.map((worker) => `127.0.0.1:${ports.get(worker)}`));
    const query = 'count by (process) ({__name__=~"oslo_messaging_rpc_(client|server)_invocation_end_total"})';
    const deadline = Date.now() + 60_000;
    let processes: string[] = [];
    while (Date.now() < deadline) {
      processes = (await prometheus.query(query)).map((sample) => sample.metric.process!).sort();
      if (processes.length === WORKERS.length) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(processes).toEqual(['nova-api', 'nova-compute', 'nova-network', 'nova-scheduler']);
    const up = await prometheus.query('up{job="novarpc"}');
    expect(up.map((sample) => sample.value[1])).toEqual(Array(WORKERS.length).fill('1'));
    const served = await prometheus.query(`sum by (method) (oslo_messaging_rpc_server_invocation_end_total{topic="${cloud.topics.network}"})`);
    expect(served).toEqual([expect.objectContaining({ metric: { method: 'allocate_for_instance' }, value: [expect.any(Number), String(BOOTS)] })]);
  }, 120_000);
});
