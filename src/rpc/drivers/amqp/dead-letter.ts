/**
 * The dead-letter queue: messages that cannot be decoded, or that keep coming back,
 * are copied here with why and where from, then acknowledged at their origin. An
 * operator lists, replays or purges them.
 */
import { randomUUID } from 'node:crypto';
import type { Channel, ConsumeMessage, GetMessage, Message } from 'amqplib';
import type { DeadLetter, DeadLetterStore } from '../driver.js';
import type { BrokerConnection } from './connection.js';
import type { Publisher } from './publisher.js';
import { deadLetterQueue } from '../../wire/topology.js';
import { ignoredFailure } from './ignored-failure.js';

const HEADER = {
  id: 'x-novarpc-dead-letter-id',
  reason: 'x-novarpc-reason',
  queue: 'x-novarpc-queue',
  exchange: 'x-novarpc-exchange',
  routingKey: 'x-novarpc-routing-key',
  at: 'x-novarpc-dead-lettered-at',
} as const;

/** Dead-letter queue on RabbitMQ. */
export class AmqpDeadLetterQueue implements DeadLetterStore {
  constructor(
    private readonly queueName: string,
    private readonly publisher: Publisher,
    private readonly adminConnection: BrokerConnection,
  ) {}

  /** Copies a message here (confirmed), with its origin and the reason. */
  async add(message: ConsumeMessage | Message, queue: string, reason: string): Promise<void> {
    const headers = {
      ...(message.properties.headers ?? {}),
      [HEADER.id]: randomUUID(),
      [HEADER.reason]: reason.slice(0, 1000),
      [HEADER.queue]: queue,
      [HEADER.exchange]: message.fields.exchange,
      [HEADER.routingKey]: message.fields.routingKey,
      [HEADER.at]: new Date().toISOString(),
    };
    await this.publisher.publish({
      exchange: '',
      routingKey: this.queueName,
      body: message.content,
      properties: {
        contentType: message.properties.contentType,
        contentEncoding: message.properties.contentEncoding,
        deliveryMode: 2,
        headers,
      },
      declarations: [this.declaration()],
    });
  }

  async list(limit = 100): Promise<DeadLetter[]> {
    return this.withChannel(async (channel) => {
      const letters: DeadLetter[] = [];
      for (let message = await channel.get(this.queueName); message && letters.length < limit; ) {
        letters.push(toDeadLetter(message));
        if (letters.length < limit) message = await channel.get(this.queueName);
      }
      channel.nackAll(true);
      return letters;
    });
  }

  async replay(ids?: readonly string[]): Promise<number> {
    const wanted = ids ? new Set(ids) : undefined;
    return this.withChannel(async (channel) => {
      let replayed = 0;
      for (let message = await channel.get(this.queueName); message; message = await channel.get(this.queueName)) {
        const letter = toDeadLetter(message);
        if (wanted && !wanted.has(letter.id)) continue;
        await this.publisher.publish({
          exchange: letter.exchange,
          routingKey: letter.routingKey,
          body: message.content,
          properties: { headers: withoutOwnHeaders(message.properties.headers) },
        });
        channel.ack(message);
        replayed += 1;
      }
      channel.nackAll(true);
      return replayed;
    });
  }

  async purge(): Promise<number> {
    return this.withChannel(async (channel) => (await channel.purgeQueue(this.queueName)).messageCount);
  }

  async count(): Promise<number> {
    return this.withChannel(async (channel) => (await channel.checkQueue(this.queueName)).messageCount);
  }

  private declaration() {
    return {
      key: `q:${this.queueName}`,
      declare: (channel: Channel) => channel.assertQueue(this.queueName, deadLetterQueue()),
    };
  }

  private async withChannel<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
    const model = await this.adminConnection.connect(Date.now() + 30_000);
    const channel = await model.createChannel();
    // The failing operation rejects with the same error; the event only must not go unheard.
    channel.on('error', ignoredFailure(this.adminConnection.logger, 'a dead-letter admin channel error, reported by the operation that caused it'));
    try {
      await this.declaration().declare(channel as never);
      return await work(channel);
    } finally {
      await channel.close().catch(ignoredFailure(this.adminConnection.logger, 'closing a dead-letter admin channel that is already closed'));
    }
  }
}

function toDeadLetter(message: GetMessage): DeadLetter {
  const headers = message.properties.headers ?? {};
  const text = (key: string) => (headers[key] == null ? '' : String(headers[key]));
  let body: string;
  let bodyEncoding: DeadLetter['bodyEncoding'] = 'utf8';
  try {
    body = new TextDecoder('utf-8', { fatal: true }).decode(message.content);
  } catch {
    body = message.content.toString('base64');
    bodyEncoding = 'base64';
  }
  return {
    id: text(HEADER.id),
    reason: text(HEADER.reason),
    queue: text(HEADER.queue),
    exchange: text(HEADER.exchange),
    routingKey: text(HEADER.routingKey),
    deadLetteredAt: text(HEADER.at),
    body,
    bodyEncoding,
  };
}

function withoutOwnHeaders(headers: Record<string, unknown> | undefined): Record<string, unknown> {
  const own = new Set<string>(Object.values(HEADER));
  return Object.fromEntries(Object.entries(headers ?? {}).filter(([key]) => !own.has(key)));
}
