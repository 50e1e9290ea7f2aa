#!/usr/bin/python3
"""The Python oslo.messaging side of the peers benchmark (bench/peers.ts).

    peers_oslo.py server --url URL --exchange X --topic T
    peers_oslo.py client --url URL --exchange X --topic T --concurrency 64

Run with Debian's /usr/bin/python3 (python3-oslo.messaging), stock options (classic
queues, as a deployment without rabbit_quorum_queue has them; only rpc_conn_pool_size
is raised to the client's concurrency so each thread keeps a pooled connection). Both roles print
{"ready": true} once started, then read commands on stdin, one per line, and answer
each with one JSON line on stdout:

  server: "stats"             -> {"handled": n}    (echo calls + casts handled)
  client: "seq N"             -> {"latencies": [ms, ...]}  (N calls, one at a time)
          "calls N" / "casts N" -> {"done": N}      (N calls / casts, --concurrency
                                                    threads at once)
  both:   "exit"              -> stops and exits 0
"""

import argparse
import itertools
import json
import logging
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor


def reply(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


def transport_for(args):
    from oslo_config import cfg
    import oslo_messaging

    oslo_messaging.set_transport_defaults(args.exchange)
    # The global CONF, without files: oslo.messaging 14.0.3 registers its metrics
    # options only there, and RPCClient reads them from the transport's conf.
    cfg.CONF(args=[], project='novarpc-bench', default_config_files=[],
             default_config_dirs=[])
    # One pooled connection per client thread (stock is 30, fewer than the 64
    # calls in flight: oslo would open and drop extra connections all along).
    from oslo_messaging._drivers import base
    cfg.CONF.register_opts(base.base_opts, group='oslo_messaging_rabbit')
    cfg.CONF.set_override('rpc_conn_pool_size', max(30, args.concurrency),
                          group='oslo_messaging_rabbit')
    return oslo_messaging.get_rpc_transport(cfg.CONF, url=args.url)


def serve(args):
    import oslo_messaging

    handled = itertools.count(1)
    last = [0]

    class BenchEndpoint(object):
        target = oslo_messaging.Target(version='1.0')

        def echo(self, ctxt, value):
            last[0] = next(handled)
            return value

        def cast(self, ctxt, value):
            last[0] = next(handled)

    transport = transport_for(args)
    target = oslo_messaging.Target(topic=args.topic, server='peer0')
    server = oslo_messaging.get_rpc_server(
        transport, target, [BenchEndpoint()], executor='threading')
    server.start()
    reply({'ready': True})
    for line in sys.stdin:
        command = line.strip()
        if command == 'stats':
            # itertools.count is atomic under the GIL; last[0] may lag by the
            # handlers running right now, which the caller polls past.
            reply({'handled': last[0]})
        elif command == 'exit':
            break
    server.stop()
    server.wait()
    transport.cleanup()


def drive(args):
    import oslo_messaging

    transport = transport_for(args)
    client = oslo_messaging.get_rpc_client(
        transport, oslo_messaging.Target(topic=args.topic, version='1.0'),
        timeout=60)
    ctxt = {'user_id': 'bench', 'project_id': 'bench'}
    pool = ThreadPoolExecutor(max_workers=args.concurrency)
    client.call(ctxt, 'echo', value=0)  # connections and reply queue up
    reply({'ready': True})

    def run_concurrent(total, task):
        counter = itertools.count()

        def worker():
            while True:
                i = next(counter)
                if i >= total:
                    return
                task(i)

        futures = [pool.submit(worker) for _ in range(args.concurrency)]
        for future in futures:
            future.result()

    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == 'exit':
            break
        count = int(words[1])
        if words[0] == 'seq':
            latencies = []
            for i in range(count):
                started = time.perf_counter()
                client.call(ctxt, 'echo', value=i)
                latencies.append((time.perf_counter() - started) * 1000)
            reply({'latencies': latencies})
        elif words[0] == 'calls':
            run_concurrent(count, lambda i: client.call(ctxt, 'echo', value=i))
            reply({'done': count})
        elif words[0] == 'casts':
            run_concurrent(count, lambda i: client.cast(ctxt, 'cast', value=i))
            reply({'done': count})
    pool.shutdown()
    transport.cleanup()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('role', choices=['server', 'client'])
    parser.add_argument('--url', required=True)
    parser.add_argument('--exchange', required=True)
    parser.add_argument('--topic', required=True)
    parser.add_argument('--concurrency', type=int, default=64)
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    # 64 threads waiting on calls make oslo warn of a possible leak of its per-call
    # queues; that is the load, not a leak.
    logging.getLogger('oslo_messaging._drivers.amqpdriver').setLevel(
        logging.ERROR)
    serve(args) if args.role == 'server' else drive(args)


if __name__ == '__main__':
    main()
