#!/usr/bin/python3
"""An oslo.messaging RPC server for the interop tests.

    py_rpc_server.py --url URL --exchange nova --topic compute --server host1 \
        [--version 1.3] [--namespace NS] [--name label] [--debug]

Consumes <topic>, <topic>.<server> and a <topic>_fanout_<hex> queue on the
control exchange, with one endpoint (Target(version=--version)) whose methods
are listed in InteropEndpoint. stdout, one JSON object per line:

  {"event": "ready", "name", "server", "topic", "exchange", "version", "namespace", "pid"}
      once server.start() returned (queues declared and bound).
  {"event": "handled", "method", "name", "server", "args", "ctxt"}
      on entry to every endpoint method (record adds "n").
  {"event": "stopped", "name", "server", "reason"}
      after a clean stop (SIGTERM/SIGINT/parent gone); exit status 0.
"""

import argparse
import logging
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import interop_common  # noqa: E402
from interop_common import emit  # noqa: E402
import interop_errors  # noqa: E402

LOG = logging.getLogger('py_rpc_server')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    interop_common.add_transport_args(parser)
    parser.add_argument('--topic', required=True)
    parser.add_argument('--server', required=True,
                        help='server name: the <topic>.<server> queue')
    parser.add_argument('--version', default='1.3',
                        help="the endpoint's Target version (default: "
                             '%(default)s)')
    parser.add_argument('--namespace', default=None,
                        help="the endpoint's Target namespace (default: none)")
    parser.add_argument('--name', default=None,
                        help='a label echoed in every line (default: --server)')
    args = parser.parse_args()
    interop_common.setup_logging(args.debug)
    name = args.name if args.name is not None else args.server

    import oslo_messaging

    class InteropEndpoint(object):
        target = oslo_messaging.Target(version=args.version,
                                       namespace=args.namespace)

        def _handled(self, method, ctxt, call_args, extra=None):
            line = {'event': 'handled', 'method': method, 'name': name,
                    'server': args.server}
            if extra:
                line.update(extra)
            line['args'] = call_args
            line['ctxt'] = ctxt
            emit(line)

        def echo(self, ctxt, value):
            self._handled('echo', ctxt, {'value': value})
            return value

        def echo_args(self, ctxt, **kwargs):
            """Returns every keyword argument it got, as a dict."""
            self._handled('echo_args', ctxt, kwargs)
            return kwargs

        def add(self, ctxt, a, b):
            self._handled('add', ctxt, {'a': a, 'b': b})
            return a + b

        def raise_builtin(self, ctxt, message):
            self._handled('raise_builtin', ctxt, {'message': message})
            raise ValueError(message)

        def raise_custom(self, ctxt, message, code=None):
            self._handled('raise_custom', ctxt,
                          {'message': message, 'code': code})
            raise interop_errors.InteropError(message, code=code)

        def get_context(self, ctxt):
            self._handled('get_context', ctxt, {})
            return ctxt

        def sleep(self, ctxt, seconds):
            self._handled('sleep', ctxt, {'seconds': seconds})
            time.sleep(seconds)
            return seconds

        def record(self, ctxt, n):
            self._handled('record', ctxt, {'n': n}, extra={'n': n})
            return n

    conf = interop_common.make_conf(args.exchange)
    transport = oslo_messaging.get_rpc_transport(conf, url=args.url)
    interop_common.check_exchange(conf, args.exchange)
    target = oslo_messaging.Target(topic=args.topic, server=args.server,
                                   exchange=args.exchange)
    server = oslo_messaging.get_rpc_server(
        transport, target, [InteropEndpoint()], executor='threading')

    stop = interop_common.StopFlag()
    interop_common.install_stop_handlers(stop)
    server.start()
    emit({'event': 'ready', 'name': name, 'server': args.server,
          'topic': args.topic, 'exchange': args.exchange,
          'version': args.version, 'namespace': args.namespace,
          'pid': os.getpid()})

    stop.wait_forever()
    LOG.info('stopping (%s)', stop.reason)
    # stop() + wait() close the listener connection, which deletes this
    # server's fanout queue; cleanup() closes the sending connections.
    server.stop()
    server.wait()
    transport.cleanup()
    emit({'event': 'stopped', 'name': name, 'server': args.server,
          'reason': stop.reason})
    return 0


if __name__ == '__main__':
    sys.exit(main())
