"""Helpers shared by the Python interop peers (py_*.py in this directory).

Conventions every peer follows:
  * stdout carries only JSON objects, one per line, flushed after each line;
  * logs go to stderr (WARNING by default, DEBUG with --debug);
  * SIGTERM / SIGINT (and the death of the parent process) make long-running
    peers stop cleanly and exit 0.

Run the peers with Debian's interpreter, /usr/bin/python3, which sees the
python3-oslo.messaging and python3-novaclient packages.
"""

import json
import logging
import os
import signal
import sys
import threading

_emit_lock = threading.Lock()


def emit(obj):
    """Print one JSON object on its own line of stdout and flush."""
    line = json.dumps(obj, default=_json_default, sort_keys=False)
    with _emit_lock:
        sys.stdout.write(line + '\n')
        sys.stdout.flush()


def _json_default(value):
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode('utf-8', 'replace')
    return str(value)


def setup_logging(debug=False):
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if debug else logging.WARNING,
        format='%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s')


def add_transport_args(parser, exchange_default='nova'):
    parser.add_argument(
        '--url', default='rabbit://guest:guest@127.0.0.1:5672/',
        help='oslo.messaging transport URL; [oslo_messaging_rabbit] options '
             'may be given in the query, e.g. ?rabbit_quorum_queue=true '
             '(default: %(default)s)')
    parser.add_argument(
        '--exchange', default=exchange_default,
        help='control exchange (default: %(default)s)')
    parser.add_argument('--debug', action='store_true',
                        help='DEBUG logging on stderr')


def make_conf(exchange):
    """A private ConfigOpts whose control_exchange is ``exchange``.

    ``set_transport_defaults`` changes the default of the (module-level)
    control_exchange option; the option is registered on ``conf`` by
    ``get_*_transport``, which then hands ``conf.control_exchange`` to the
    driver as its default exchange. Every peer process uses one exchange, so
    changing the default is safe; ``check_exchange`` verifies it after the
    transport is built.
    """
    from oslo_config import cfg
    import oslo_messaging

    oslo_messaging.set_transport_defaults(exchange)
    conf = cfg.ConfigOpts()
    # No command line, no config files: only defaults, the URL and overrides.
    conf(args=[], project='novarpc-interop', default_config_files=[],
         default_config_dirs=[])
    # oslo.messaging 14.0.3 registers [oslo_messaging_metrics] only on the
    # global cfg.CONF, yet RPCClient.call/cast read it from the transport's
    # conf: without this, every call on a private ConfigOpts fails with
    # NoSuchOptError("no such option oslo_messaging_metrics in group [DEFAULT]").
    try:
        from oslo_messaging._metrics import client as metrics_client
    except ImportError:  # pragma: no cover - other oslo.messaging versions
        metrics_client = None
    if metrics_client is not None and hasattr(metrics_client,
                                              'oslo_messaging_metrics'):
        conf.register_opts(metrics_client.oslo_messaging_metrics,
                           group='oslo_messaging_metrics')
    return conf


def check_exchange(conf, exchange):
    if conf.control_exchange != exchange:
        raise SystemExit('control_exchange is %r, wanted %r'
                         % (conf.control_exchange, exchange))


class StopFlag(object):
    """Set by SIGTERM/SIGINT or by the parent process going away."""

    def __init__(self):
        self.event = threading.Event()
        self.reason = None

    def set(self, reason):
        if self.reason is None:
            self.reason = reason
        self.event.set()

    def is_set(self):
        return self.event.is_set()

    def wait_forever(self):
        # Short waits so the main thread gets back to the interpreter often and
        # signal handlers run promptly.
        while not self.event.wait(0.2):
            pass


def install_stop_handlers(stop, watch_parent=True, on_signal=None):
    """Route SIGTERM/SIGINT to ``stop``; optionally also exit when orphaned.

    ``on_signal`` (optional) is called in the signal handler after the flag is
    set; a peer whose main thread blocks on stdin uses it to raise and get out
    of the read.
    """

    def handler(signum, _frame):
        stop.set(signal.Signals(signum).name)
        if on_signal is not None:
            on_signal(signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)

    if watch_parent:
        parent = os.getppid()

        def watch():
            while not stop.event.wait(1.0):
                if os.getppid() != parent:
                    logging.getLogger(__name__).warning(
                        'parent process %s went away; stopping', parent)
                    stop.set('parent-exit')
                    if on_signal is not None:
                        # Wake a main thread blocked in a read.
                        os.kill(os.getpid(), signal.SIGTERM)
                    return

        threading.Thread(target=watch, name='parent-watch',
                         daemon=True).start()


def exception_info(e):
    """The JSON description of an exception raised by an oslo client call."""
    cls = type(e)
    info = {
        'exc_class': cls.__name__,
        'exc_module': cls.__module__,
        'message': str(e),
        'exc_type': getattr(e, 'exc_type', None),
        'value': getattr(e, 'value', None),
        'args': [a if _jsonable(a) else str(a) for a in getattr(e, 'args', ())],
        'kwargs': getattr(e, 'kwargs', None),
        # Classes the exception is an instance of, most specific first, as
        # "module.Class" (a rebuilt remote error is a subclass of its original).
        'mro': ['%s.%s' % (c.__module__, c.__name__) for c in cls.__mro__
                if c is not object],
    }
    tb = getattr(e, 'traceback', None)
    if tb is not None:
        info['traceback'] = tb
    return info


def _jsonable(value):
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False
