#!/usr/bin/python3
"""Send notification(s) with oslo.messaging's Notifier, then exit.

    py_notifier.py --url URL --exchange nova --topic notifications \
        --publisher-id compute.host1 --event-type compute.instance.create.end \
        --payload '{"k": "v"}' [--priority info] [--driver messagingv2|messaging] \
        [--context '{"user": "u"}'] [--count 1] [--retry 3] [--debug]

The notification goes to the control exchange (--exchange) with routing key
<topic>.<priority>; the publisher also declares and binds the queue
<topic>.<priority>. Note that oslo.messaging keeps only the "safe" context keys
(user, user_id, project_id, request_id, roles, is_admin, ...; see
oslo_messaging.notify.notifier._sanitize_context) and drops the rest.

stdout, one JSON object per notification sent:
  {"event": "sent", "n": i, "priority", "event_type", "publisher_id", "topic",
   "exchange", "driver", "payload", "context"}
Exit 0 when everything was sent; 1 when the Notifier logged a send failure
(oslo.messaging logs notifier errors instead of raising them); 2 on bad usage.
"""

import argparse
import json
import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import interop_common  # noqa: E402
from interop_common import emit  # noqa: E402

PRIORITIES = ('audit', 'debug', 'info', 'warn', 'warning', 'error',
              'critical', 'sample')


class _FailureSpy(logging.Handler):
    """Notices the errors the Notifier logs instead of raising."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.failures = []

    def emit(self, record):
        self.failures.append(record.getMessage())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    interop_common.add_transport_args(parser)
    parser.add_argument('--topic', default='notifications')
    parser.add_argument('--publisher-id', required=True)
    parser.add_argument('--event-type', required=True)
    parser.add_argument('--payload', required=True, help='JSON payload')
    parser.add_argument('--priority', default='info', choices=PRIORITIES)
    parser.add_argument('--driver', default='messagingv2',
                        choices=('messagingv2', 'messaging'))
    parser.add_argument('--context', default='{}',
                        help='JSON object: the request context (a plain dict)')
    parser.add_argument('--count', type=int, default=1,
                        help='how many notifications to send (default 1)')
    parser.add_argument('--retry', type=int, default=3,
                        help='publish retries before giving up; -1 = forever '
                             '(default: %(default)s)')
    args = parser.parse_args()
    interop_common.setup_logging(args.debug)
    try:
        payload = json.loads(args.payload)
        context = json.loads(args.context)
    except ValueError as e:
        parser.error('bad JSON: %s' % e)
    if not isinstance(context, dict):
        parser.error('--context must be a JSON object')

    import oslo_messaging

    spy = _FailureSpy()
    logging.getLogger('oslo_messaging').addHandler(spy)

    conf = interop_common.make_conf(args.exchange)
    transport = oslo_messaging.get_notification_transport(conf, url=args.url)
    interop_common.check_exchange(conf, args.exchange)
    notifier = oslo_messaging.Notifier(
        transport, publisher_id=args.publisher_id, driver=args.driver,
        topics=[args.topic], retry=args.retry)
    send = getattr(notifier, args.priority)
    for i in range(args.count):
        before = len(spy.failures)
        send(context, args.event_type, payload)
        if len(spy.failures) > before:
            break
        emit({'event': 'sent', 'n': i, 'priority': args.priority,
              'event_type': args.event_type,
              'publisher_id': args.publisher_id, 'topic': args.topic,
              'exchange': args.exchange, 'driver': args.driver,
              'payload': payload, 'context': context})
    transport.cleanup()
    if spy.failures:
        emit({'event': 'failed', 'errors': spy.failures})
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
