/**
 * A worker process for the killed-worker test: serves `hold` casts that never finish,
 * printing `started <n>` for each, until it is killed.
 */
import { getTransport, RpcServer } from '../../src/rpc/index.js';

const [url, topic, server] = process.argv.slice(2) as [string, string, string];
const transport = getTransport(url);
const rpcServer = new RpcServer(transport, { topic, server }, [
  {
    methods: {
      hold: async (_ctx, args) => {
        process.stdout.write(`started ${String(args.n)}\n`);
        await new Promise(() => {});
      },
    },
  },
]);
await rpcServer.start();
process.stdout.write('ready\n');
