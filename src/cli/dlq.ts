/**
 * `novarpc dlq list|replay|purge`: the operator's view of the dead-letter queue (the
 * messages servers could not decode, or that kept coming back), through the configured
 * transport's `deadLetters`. The queue is the transport's `dead_letter_queue` option
 * (default `novarpc.dead_letter`), set in the transport URL like every oslo option.
 */
import { getTransport, type DeadLetter, type Transport } from '../rpc/index.js';
import type { ServiceConfig } from '../services/config.js';

/** Options of the dlq subcommands. */
export interface DlqOptions {
  limit?: number;
  ids?: string[];
  all?: boolean;
  json?: boolean;
}

/** Runs one dlq action and writes its result; returns the exit code. */
export async function dlqCommand(config: ServiceConfig, action: 'list' | 'replay' | 'purge', options: DlqOptions, out: NodeJS.WritableStream): Promise<number> {
  if (config.transportUrl.startsWith('memory:')) throw new Error('dlq needs a broker: set transport_url (rabbit://...)');
  const transport = getTransport(config.transportUrl, { options: { control_exchange: config.controlExchange } });
  try {
    return await run(transport, action, options, out);
  } finally {
    await transport.close();
  }
}

async function run(transport: Transport, action: 'list' | 'replay' | 'purge', options: DlqOptions, out: NodeJS.WritableStream): Promise<number> {
  const queue = transport.options.dead_letter_queue;
  const write = (value: unknown, text: string) => out.write(options.json ? `${JSON.stringify(value)}\n` : `${text}\n`);
  switch (action) {
    case 'list': {
      const limit = options.limit ?? 100;
      if (!Number.isInteger(limit) || limit < 1) throw new Error(`--limit must be a positive integer, got ${options.limit}`);
      // Count first: the broker's count leaves out messages a listing holds unacknowledged.
      const counted = await transport.deadLetters.count();
      const letters = await transport.deadLetters.list(limit);
      const total = Math.max(counted, letters.length);
      write({ queue, total, messages: letters }, formatList(queue, total, letters));
      return 0;
    }
    case 'replay': {
      if (!options.all && !options.ids?.length) throw new Error('replay needs --id <id...> or --all');
      const replayed = await transport.deadLetters.replay(options.all ? undefined : options.ids);
      const missing = options.all ? 0 : options.ids!.length - replayed;
      write({ queue, replayed, not_found: missing }, `replayed ${replayed} message(s) from ${queue}${missing > 0 ? `; ${missing} id(s) not found` : ''}`);
      return missing > 0 ? 1 : 0;
    }
    case 'purge': {
      const purged = await transport.deadLetters.purge();
      write({ queue, purged }, `purged ${purged} message(s) from ${queue}`);
      return 0;
    }
  }
}

function formatList(queue: string, total: number, letters: DeadLetter[]): string {
  const lines = [`${queue}: ${total} message(s)${letters.length < total ? `, showing ${letters.length}` : ''}`];
  for (const letter of letters) {
    const body = letter.body.length > 80 ? `${letter.body.slice(0, 77)}...` : letter.body;
    lines.push(`${letter.id}  ${letter.deadLetteredAt}  from ${letter.queue || '?'} (${letter.exchange || '""'} / ${letter.routingKey})`);
    lines.push(`    reason: ${letter.reason}`);
    lines.push(`    body (${letter.bodyEncoding}): ${JSON.stringify(body)}`);
  }
  return lines.join('\n');
}
