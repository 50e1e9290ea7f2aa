/**
 * A worker process for reliability tests. Serves `echo`, `ping`, `fail` and `slow`
 * (prints `started <n>` / `finished <n>`); on SIGTERM it stops gracefully and exits 0.
 * stdin `stats` prints the server's counters and the process RSS.
 */
import { createInterface } from 'node:readline';
import { getTransport, RpcServer } from '../../src/rpc/index.js';

const [url, topic, server] = process.argv.slice(2) as [string, string, string];
const transport = getTransport(url);
const rpcServer = new RpcServer(
  transport,
  { topic, server },
  [
    {
      methods: {
        echo: (_ctx, args) => args.value ?? null,
        ping: () => 'pong',
        fail: () => {
          throw new TypeError('asked to fail');
        },
        slow: async (_ctx, args) => {
          process.stdout.write(`started ${String(args.n)}\n`);
          await new Promise((resolve) => setTimeout(resolve, Number(args.ms ?? 2000)));
          process.stdout.write(`finished ${String(args.n)}\n`);
        },
      },
    },
  ],
  { drainTimeout: 30 },
);

process.once('SIGTERM', () => {
  void rpcServer
    .stop()
    .then(() => transport.close())
    .then(() => {
      process.stdout.write('stopped\n');
      process.exit(0);
    });
});

await rpcServer.start();
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'stats') {
    (globalThis as { gc?: () => void }).gc?.();
    process.stdout.write(`${JSON.stringify({ stats: rpcServer.stats, rss: process.memoryUsage().rss })}\n`);
  }
}
