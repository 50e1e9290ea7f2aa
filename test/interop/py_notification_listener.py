#!/usr/bin/python3
"""An oslo.messaging notification listener that prints what it receives.

    py_notification_listener.py --url URL --exchange nova \
        --topic notifications [--pool P] [--debug]

Listens on <topic>.<priority> for every priority (audit, critical, debug,
error, info, sample, warn), on the control exchange; with --pool the queues
are named after the pool instead (shared by all listeners of that pool).
Every notification is acked (endpoints return None).

stdout, one JSON object per line:
  {"event": "ready", "topic", "exchange", "pool", "pid"}   after start()
  {"event": "notification", "priority": "info", "ctxt": {...},
   "publisher_id", "event_type", "payload", "metadata": {"message_id",
   "timestamp"}}
  {"event": "stopped", "reason"}     after SIGTERM/SIGINT; exit status 0
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import interop_common  # noqa: E402
from interop_common import emit  # noqa: E402


class PrintingEndpoint(object):

    def _print(self, priority, ctxt, publisher_id, event_type, payload,
               metadata):
        emit({'event': 'notification', 'priority': priority, 'ctxt': ctxt,
              'publisher_id': publisher_id, 'event_type': event_type,
              'payload': payload, 'metadata': metadata})

    def audit(self, ctxt, publisher_id, event_type, payload, metadata):
        self._print('audit', ctxt, publisher_id, event_type, payload, metadata)

    def debug(self, ctxt, publisher_id, event_type, payload, metadata):
        self._print('debug', ctxt, publisher_id, event_type, payload, metadata)

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self._print('info', ctxt, publisher_id, event_type, payload, metadata)

    def warn(self, ctxt, publisher_id, event_type, payload, metadata):
        self._print('warn', ctxt, publisher_id, event_type, payload, metadata)

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self._print('error', ctxt, publisher_id, event_type, payload, metadata)

    def critical(self, ctxt, publisher_id, event_type, payload, metadata):
        self._print('critical', ctxt, publisher_id, event_type, payload,
                    metadata)

    def sample(self, ctxt, publisher_id, event_type, payload, metadata):
        self._print('sample', ctxt, publisher_id, event_type, payload,
                    metadata)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    interop_common.add_transport_args(parser)
    parser.add_argument('--topic', default='notifications')
    parser.add_argument('--pool', default=None,
                        help='listener pool name (default: none)')
    args = parser.parse_args()
    interop_common.setup_logging(args.debug)

    import oslo_messaging

    conf = interop_common.make_conf(args.exchange)
    transport = oslo_messaging.get_notification_transport(conf, url=args.url)
    interop_common.check_exchange(conf, args.exchange)
    targets = [oslo_messaging.Target(topic=args.topic,
                                     exchange=args.exchange)]
    listener = oslo_messaging.get_notification_listener(
        transport, targets, [PrintingEndpoint()], executor='threading',
        pool=args.pool)

    stop = interop_common.StopFlag()
    interop_common.install_stop_handlers(stop)
    listener.start()
    emit({'event': 'ready', 'topic': args.topic, 'exchange': args.exchange,
          'pool': args.pool, 'pid': os.getpid()})

    stop.wait_forever()
    listener.stop()
    listener.wait()
    transport.cleanup()
    emit({'event': 'stopped', 'reason': stop.reason})
    return 0


if __name__ == '__main__':
    sys.exit(main())
