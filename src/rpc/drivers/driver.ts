/**
 * What a transport driver does for the framework: publish with broker confirmation,
 * consume with explicit acknowledgement, keep a reply queue, and keep a dead-letter
 * queue. The framework (client, server, notifier) owns the wire format and the
 * policy; a driver owns the broker (or the in-process bus).
 */

/** One message handed to a consumer. Exactly one of ack/requeue/deadLetter settles it. */
export interface Delivery {
  readonly body: Buffer;
  /** Queue it was consumed from. */
  readonly queue: string;
  /** Exchange and routing key it was published with. */
  readonly exchange: string;
  readonly routingKey: string;
  /** True when the broker delivered it before and it was not acknowledged. */
  readonly redelivered: boolean;
  /** How many times it was delivered before, when the queue counts (quorum queues). */
  readonly deliveryCount: number | undefined;
  /** Removes it from the queue. */
  ack(): void;
  /** Puts it back on the queue for another delivery. */
  requeue(): void;
  /**
   * Moves it to the dead-letter queue with the reason and its origin, then removes it
   * from its queue. Resolves once the dead-letter copy is confirmed.
   */
  deadLetter(reason: string): Promise<void>;
}

/** Receives deliveries. It must not throw; the framework's handlers catch everything. */
export type DeliveryHandler = (delivery: Delivery) => void;

/** The queues an RPC server consumes: `<topic>`, `<topic>.<server>` and a fanout queue. */
export interface RpcListenSpec {
  exchange: string;
  topic: string;
  server: string;
  /** Messages the broker may have outstanding on this listener (0 = unlimited). */
  prefetch: number;
}

/** A notification listener: one queue per `<topic>.<priority>` (or a shared pool queue). */
export interface NotificationListenSpec {
  exchange: string;
  bindings: ReadonlyArray<{ routingKey: string; queue: string }>;
  prefetch: number;
}

/** A running consumer. */
export interface Listener {
  /** Stops taking new messages; deliveries already handed out may still be settled. */
  cancel(): Promise<void>;
  /** Requeues what was not settled, removes the per-listener queues, frees the connection. */
  close(): Promise<void>;
}

/** A message kept in the dead-letter queue. */
export interface DeadLetter {
  /** Position-independent id (the dead-lettering time and a uuid). */
  id: string;
  reason: string;
  queue: string;
  exchange: string;
  routingKey: string;
  deadLetteredAt: string;
  /** The body as it arrived (UTF-8 text when it decodes, else base64). */
  body: string;
  bodyEncoding: 'utf8' | 'base64';
}

/** Operator access to the dead-letter queue. */
export interface DeadLetterStore {
  /** Up to `limit` messages, oldest first, without removing them. */
  list(limit?: number): Promise<DeadLetter[]>;
  /** Republishes messages (all, or those with the given ids) to where they came from. */
  replay(ids?: readonly string[]): Promise<number>;
  /** Deletes every message; returns how many there were. */
  purge(): Promise<number>;
  /** Number of messages waiting. */
  count(): Promise<number>;
}

/** Publish options for RPC requests. */
export interface RequestPublishOptions {
  /** Per-message TTL in ms (calls send their timeout, as oslo does). */
  expirationMs?: number;
  /**
   * How long this send may wait for the broker (a connection, a channel, a confirm)
   * before it fails with TransportError; default the transport's `send_timeout`.
   */
  sendTimeoutMs?: number;
}

/** The transport driver contract. */
export interface Driver {
  readonly name: 'rabbit' | 'memory';
  /** Publishes to the topic exchange; resolves when the broker has it. */
  publishRequest(exchange: string, routingKey: string, body: Buffer, options?: RequestPublishOptions): Promise<void>;
  /** Publishes to `<topic>_fanout`; resolves when the broker has it. */
  publishFanout(topic: string, body: Buffer): Promise<void>;
  /**
   * Publishes a reply to a reply queue (default exchange, mandatory). Rejects with
   * MessageUndeliverable when no such queue exists.
   */
  publishReply(replyQueue: string, body: Buffer): Promise<void>;
  /** Publishes a notification, declaring its queue first so nothing is lost. */
  publishNotification(exchange: string, routingKey: string, queue: string, body: Buffer): Promise<void>;
  /**
   * Starts (once) this process's reply queue and returns its name. Replies go to the
   * handler; `onLost` is called when replies in flight may have been lost (connection
   * to the broker lost), so the caller can fail pending calls at once.
   */
  startReplyQueue(handler: DeliveryHandler, onLost: (error: Error) => void): Promise<string>;
  listenRpc(spec: RpcListenSpec, handler: DeliveryHandler): Promise<Listener>;
  listenNotifications(spec: NotificationListenSpec, handler: DeliveryHandler): Promise<Listener>;
  readonly deadLetters: DeadLetterStore;
  close(): Promise<void>;
}
