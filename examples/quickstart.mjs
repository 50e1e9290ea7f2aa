// The framework in one screen: a server, a client (call, cast, targeted and fanout cast)
// and a notification, on exchange "myapp", topic "calculator".
//   node quickstart.mjs                                                 # in-process bus
//   TRANSPORT_URL=rabbit://guest:guest@127.0.0.1:5672/ node quickstart.mjs   # RabbitMQ
import { getTransport, RpcClient, RpcServer, RequestContext, Notifier, NotificationListener } from 'novarpc';

const transport = getTransport(process.env.TRANSPORT_URL ?? 'memory://', { options: { control_exchange: 'myapp' } });

// A server: only the methods listed are callable from the bus.
const notes = [];
let allNoted;
const threeNotes = new Promise((resolve) => (allNoted = resolve));
const server = new RpcServer(transport, { topic: 'calculator', server: 'host1' }, [
  {
    target: { version: '1.3' },
    methods: {
      add: (ctx, { a, b }) => a + b,
      note: (ctx, { text }) => { notes.push(`${text} (from ${ctx.userId})`); if (notes.length === 3) allNoted(); },
    },
  },
]);
await server.start();

// A listener for notifications on topic "notifications" of the same exchange.
let notified;
const notification = new Promise((resolve) => (notified = resolve));
const listener = new NotificationListener(transport, [{ topic: 'notifications' }], [
  { info: (ctx, publisherId, eventType, payload) => notified(`${publisherId} ${eventType} ${JSON.stringify(payload)}`) },
]);
await listener.start();

// A client: call, cast, and prepare() for per-message overrides.
const client = new RpcClient(transport, { topic: 'calculator', version: '1.0' }, { timeout: 30 });
const ctx = new RequestContext({ userId: 'alice', projectId: 'p1', roles: ['member'] });
console.log('add(1, 2) =', await client.call(ctx, 'add', { a: 1, b: 2 }));
await client.cast(ctx, 'note', { text: 'any server' });                // resolves when the bus has it
await client.prepare({ server: 'host1' }).cast(ctx, 'note', { text: 'host1 only' });
await client.prepare({ fanout: true }).cast(ctx, 'note', { text: 'every server' });
await threeNotes;
console.log('notes:', notes.sort().join('; '));

await new Notifier(transport, { publisherId: 'calculator.host1' }).info(ctx, 'calculator.add.end', { result: 3 });
console.log('notification:', await notification);

await listener.stop();
await server.stop();      // stop consuming, finish in-flight handlers, remove the fanout queue
await transport.close();
