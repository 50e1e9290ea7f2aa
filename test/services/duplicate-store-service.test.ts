/**
 * `rpc_duplicate_store = database`: the reference cloud's workers share their
 * `_unique_id` claims in the service database, so one message whose two copies reach
 * two workers (here: the same cast sent to `<topic>.a` and `<topic>.b` on RabbitMQ) runs
 * once; with the default `local` it runs on both.
 */
import { randomBytes } from 'node:crypto';
import * as amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { CLAIMS_TABLE, getTransport, type Transport } from '../../src/rpc/index.js';
import { resolveServiceConfig } from '../../src/services/config.js';
import { Service, type Manager } from '../../src/services/service.js';
import { toAmqpUrl, waitFor } from '../support/harness.js';
import { deleteBrokerObjects } from '../support/scratch.js';
import { brokerUrl } from '../support/services.js';

const suffix = randomBytes(3).toString('hex');
const exchange = `dedup_svc_${suffix}`;
const envelope = (inner: unknown) => Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(inner) }));

describe('rpc_duplicate_store for the cloud workers', () => {
  let url: string;
  let db: Db;
  const transports: Transport[] = [];
  const topics: string[] = [];

  beforeAll(async () => {
    url = await brokerUrl();
    db = await createDb({ url: 'sqlite://:memory:', migrate: true });
  });

  afterAll(async () => {
    await Promise.all(transports.map((transport) => transport.close().catch(() => {})));
    await deleteBrokerObjects(url, topics.flatMap((topic) => [topic, `${topic}.a`, `${topic}.b`]), [exchange, ...topics.map((topic) => `${topic}_fanout`)]).catch(() => {});
    await db?.close();
  });

  /** Two workers a and b of one topic; the same cast sent to each; who ran it. */
  async function sendToBoth(store: 'local' | 'database'): Promise<{ runs: string[]; table: boolean }> {
    const topic = `dedup_${store}_${suffix}`;
    topics.push(topic);
    const runs: string[] = [];
    const services: Service[] = [];
    for (const host of ['a', 'b']) {
      const transport = getTransport(url, { logger: silentLogger(), options: { control_exchange: exchange } });
      transports.push(transport);
      const manager: Manager = { binary: 'nova-dedup', topic, endpoints: () => [{ methods: { record: () => void runs.push(host) } }] };
      const config = resolveServiceConfig({ host, controlExchange: exchange, rpcDuplicateStore: store, reportInterval: 3600 });
      const service = new Service({ manager, config, transport, db, logger: silentLogger() });
      await service.start();
      services.push(service);
    }
    const connection = await amqp.connect(toAmqpUrl(url));
    const channel = await connection.createConfirmChannel();
    const body = envelope({ method: 'record', args: {}, _unique_id: randomBytes(16).toString('hex') });
    for (const host of ['a', 'b']) channel.publish(exchange, `${topic}.${host}`, body, { contentType: 'application/json', contentEncoding: 'utf-8' });
    await channel.waitForConfirms();
    await connection.close();
    await waitFor(() => runs.length >= 1, 20_000, 'the cast run');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const service of services) await service.stop();
    return { runs, table: await db.knex.schema.hasTable(CLAIMS_TABLE) };
  }

  it('local (the default): each worker runs its copy', async () => {
    const { runs } = await sendToBoth('local');
    expect(runs.sort()).toEqual(['a', 'b']);
  }, 60_000);

  it('database: the copies run once across the workers, claimed in rpc_message_claims', async () => {
    const { runs, table } = await sendToBoth('database');
    expect(runs).toHaveLength(1);
    expect(table).toBe(true);
    const rows = (await db.knex(CLAIMS_TABLE).select('done')) as Array<{ done: number }>;
    expect(rows.map((row) => Number(row.done))).toEqual([1]);
  }, 60_000);
});
