#!/usr/bin/python3
"""An oslo.messaging RPC client driven by JSON commands on stdin.

    py_rpc_client.py --url URL --exchange nova --topic compute \
        [--timeout SECS] [--allowed-exmods mod1,mod2] [--workers N] [--debug]

stdin, one JSON command per line:

  {"id": 1, "op": "call" | "cast", "method": "add", "args": {"a": 1, "b": 2},
   "server": "host1", "fanout": false, "version": "1.3", "namespace": null,
   "topic": "other", "exchange": "other", "timeout": 5,
   "call_monitor_timeout": 2, "retry": null, "version_cap": null,
   "context": {"user": "u"}, "allowed_exmods": ["interop_errors"]}
  {"id": 2, "op": "ping"}     answered locally with result "pong"
  {"id": 3, "op": "quit"}     finish pending commands, answer, exit 0

Only id, op and (for call/cast) method are needed; absent or null options are
not passed to prepare(). "context" is sent as a plain dict (default {}).
"allowed_exmods" picks a transport whose allowed_remote_exmods is that list
(default: --allowed-exmods). Each distinct list gets its own transport, hence
its own sending pool and its own reply_<hex> queue.

stdout, one JSON object per line:

  {"event": "ready", "pid": ...}                           at start
  {"id", "op", "ok": true, "result": ..., "elapsed": s}    success (cast: null)
  {"id", "op", "ok": false, "exc_class", "exc_module", "message", "exc_type",
   "value", "args", "kwargs", "mro", ["traceback"], "elapsed": s}   failure
  {"event": "stopped", "reason": ...}                      before exit 0

exc_class/exc_module are type(e).__name__/__module__, e.g. RemoteError /
oslo_messaging.rpc.client, MessagingTimeout / oslo_messaging.exceptions,
ValueError / builtins, InteropError_Remote / interop_errors_Remote.
With --workers 1 (the default) commands run one after the other, in order;
with more they run concurrently and results may come out of order.
EOF on stdin acts like quit; SIGTERM/SIGINT exit 0 at once.
"""

import argparse
import concurrent.futures
import json
import logging
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import interop_common  # noqa: E402
from interop_common import emit  # noqa: E402

LOG = logging.getLogger('py_rpc_client')

PREPARE_KEYS = ('server', 'fanout', 'version', 'namespace', 'topic',
                'exchange', 'timeout', 'call_monitor_timeout', 'retry',
                'version_cap')


class _Interrupted(BaseException):
    pass


class Clients(object):
    """One transport + RPC client per distinct allowed_remote_exmods list."""

    def __init__(self, args, conf):
        import oslo_messaging
        self._om = oslo_messaging
        self._args = args
        self._conf = conf
        self._lock = threading.Lock()
        self._clients = {}
        self.transports = []

    def get(self, exmods):
        key = tuple(exmods)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                om = self._om
                transport = om.get_rpc_transport(
                    self._conf, url=self._args.url,
                    allowed_remote_exmods=list(key))
                interop_common.check_exchange(self._conf, self._args.exchange)
                self.transports.append(transport)
                target = om.Target(topic=self._args.topic,
                                   exchange=self._args.exchange)
                kwargs = {}
                if self._args.timeout is not None:
                    kwargs['timeout'] = self._args.timeout
                if hasattr(om, 'get_rpc_client'):
                    client = om.get_rpc_client(transport, target, **kwargs)
                else:  # pragma: no cover - older oslo.messaging
                    client = om.RPCClient(transport, target, **kwargs)
                self._clients[key] = client
            return client

    def cleanup(self):
        for transport in self.transports:
            try:
                transport.cleanup()
            except Exception:  # noqa: BLE001 - best effort at exit
                LOG.exception('transport cleanup failed')


def run_command(clients, default_exmods, cmd):
    started = time.monotonic()
    reply = {'id': cmd.get('id'), 'op': cmd.get('op')}
    try:
        op = cmd.get('op')
        if op == 'ping':
            result = 'pong'
        elif op in ('call', 'cast'):
            method = cmd.get('method')
            if not isinstance(method, str):
                raise ValueError('command needs a "method" string')
            exmods = cmd.get('allowed_exmods')
            if exmods is None:
                exmods = default_exmods
            client = clients.get(exmods)
            prep = {k: cmd[k] for k in PREPARE_KEYS
                    if cmd.get(k) is not None}
            cctxt = client.prepare(**prep) if prep else client
            ctxt = cmd.get('context')
            if ctxt is None:
                ctxt = {}
            kwargs = cmd.get('args') or {}
            if op == 'call':
                result = cctxt.call(ctxt, method, **kwargs)
            else:
                cctxt.cast(ctxt, method, **kwargs)
                result = None
        else:
            raise ValueError('unknown op %r' % (op,))
        reply.update(ok=True, result=result)
    except Exception as e:  # noqa: BLE001 - every failure is reported
        reply['ok'] = False
        reply.update(interop_common.exception_info(e))
    reply['elapsed'] = round(time.monotonic() - started, 3)
    emit(reply)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    interop_common.add_transport_args(parser)
    parser.add_argument('--topic', required=True)
    parser.add_argument('--timeout', type=float, default=None,
                        help='default call timeout in seconds (default: '
                             "oslo's rpc_response_timeout, 60)")
    parser.add_argument('--allowed-exmods', default='',
                        help='comma-separated allowed_remote_exmods used when '
                             'a command has no "allowed_exmods" (default: '
                             'none)')
    parser.add_argument('--workers', type=int, default=1,
                        help='commands run at once (default: %(default)s, '
                             'i.e. strictly in order)')
    args = parser.parse_args()
    interop_common.setup_logging(args.debug)
    default_exmods = [m for m in args.allowed_exmods.split(',') if m]

    conf = interop_common.make_conf(args.exchange)
    clients = Clients(args, conf)
    clients.get(default_exmods)  # build the default transport now

    stop = interop_common.StopFlag()

    def on_signal(_signum):
        raise _Interrupted()

    interop_common.install_stop_handlers(stop, on_signal=on_signal)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.workers))
    emit({'event': 'ready', 'pid': os.getpid(), 'topic': args.topic,
          'exchange': args.exchange})

    quit_cmd = None
    try:
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                cmd = json.loads(line)
                if not isinstance(cmd, dict):
                    raise ValueError('a command is a JSON object')
            except ValueError as e:
                emit(dict(id=None, ok=False, **interop_common.exception_info(e)))
                continue
            if cmd.get('op') == 'quit':
                quit_cmd = cmd
                break
            pool.submit(run_command, clients, default_exmods, cmd)
        pool.shutdown(wait=True)
        if quit_cmd is not None:
            emit({'id': quit_cmd.get('id'), 'op': 'quit', 'ok': True,
                  'result': None})
        clients.cleanup()
        emit({'event': 'stopped', 'reason': 'quit' if quit_cmd else 'eof'})
        return 0
    except _Interrupted:
        # Signal (or orphaned): do not wait for calls in flight.
        pool.shutdown(wait=False, cancel_futures=True)
        closer = threading.Thread(target=clients.cleanup, daemon=True)
        closer.start()
        closer.join(timeout=3.0)
        emit({'event': 'stopped', 'reason': stop.reason})
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


if __name__ == '__main__':
    sys.exit(main())
