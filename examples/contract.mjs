// A typed contract, written with the zod novarpc re-exports: both sides of the bus from
// one declaration, arguments validated on arrival.
import { z, getTransport, RpcServer, RequestContext, defineContract, buildEndpoint, createContractClient } from 'novarpc';

const calculator = defineContract({
  topic: 'calculator',
  version: '1.1',
  methods: {
    add: { kind: 'call', since: '1.0', args: z.strictObject({ a: z.number(), b: z.number() }), returns: z.number() },
    negate: { kind: 'call', since: '1.1', args: z.strictObject({ x: z.number() }), returns: z.number() },
  },
});

const transport = getTransport(process.env.TRANSPORT_URL ?? 'memory://', { options: { control_exchange: 'myapp' } });
const server = new RpcServer(transport, { topic: calculator.topic, server: 'host1' }, [
  buildEndpoint(calculator, { add: (ctx, { a, b }) => a + b, negate: (ctx, { x }) => -x }),
]);
await server.start();

const client = createContractClient(calculator, transport, { timeout: 30 });
const ctx = new RequestContext({ userId: 'alice', projectId: 'p1' });
console.log('add =', await client.add(ctx, { a: 2, b: 3 }), 'negate =', await client.negate(ctx, { x: 4 }));
// @ts-expect-error: b must be a number (a compile error in TypeScript, InvalidArguments at run time)
await client.add(ctx, { a: 2, b: 'three' }).catch((error) => console.log(`${error.name}: ${error.message}`));

await server.stop();
await transport.close();
