/**
 * Scratch resources for tests and benchmarks: a database of their own on a MySQL /
 * MariaDB server, clean-up of the queues and exchanges they declared (and, re-exported, a free port).
 */
import * as amqp from 'amqplib';
import mysql from 'mysql2/promise';
import { toAmqpUrl } from './harness.js';

export { freePort } from './net.js';

/** A database created for one test file or benchmark run. */
export interface ScratchDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Creates database `name` on the server of `serverUrl`; returns its URL and how to drop it. */
export async function createScratchDatabase(serverUrl: string, name: string): Promise<ScratchDatabase> {
  const admin = async (sql: string) => {
    const connection = await mysql.createConnection({ uri: serverUrl.replace(/^mariadb:/, 'mysql:') });
    try {
      await connection.query(sql);
    } finally {
      await connection.end();
    }
  };
  await admin(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), name, drop: () => admin(`DROP DATABASE IF EXISTS \`${name}\``) };
}

/** Deletes queues and exchanges (best effort: a missing one is fine). */
export async function deleteBrokerObjects(brokerUrl: string, queues: readonly string[], exchanges: readonly string[]): Promise<void> {
  const connection = await amqp.connect(toAmqpUrl(brokerUrl));
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    // Deleting a queue or exchange that does not exist succeeds on RabbitMQ, so one channel serves.
    for (const queue of queues) await channel.deleteQueue(queue).catch(() => undefined);
    for (const exchange of exchanges) await channel.deleteExchange(exchange).catch(() => undefined);
    await channel.close().catch(() => undefined);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

