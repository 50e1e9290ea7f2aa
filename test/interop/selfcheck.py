#!/usr/bin/python3
"""Python <-> Python check of the interop peers on a live RabbitMQ.

    test/interop/selfcheck.py [--url rabbit://guest:guest@127.0.0.1:5672/] [-v]

Documentation that py_rpc_server / py_rpc_client / py_notifier /
py_notification_listener work together (it is not a CI test). It uses an
exchange and topics unique to the run, deletes the queues and exchanges it
knows of at the end (the clients' reply_<hex> queues are left to expire by
their x-expires, 30 min), prints one line per check and
"N passed, N failed" last; exit status 0 only if every check passed.
py_novaclient_flow.py needs a Nova-compatible API and is not run here.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
PY = '/usr/bin/python3'
PRIORITIES = ('audit', 'critical', 'debug', 'error', 'info', 'sample', 'warn')


class Peer(object):
    """A peer process whose stdout JSON lines are collected by a thread."""

    def __init__(self, label, script, *args, stdin=False, verbose=False):
        self.label = label
        self.lines = []
        self._new = threading.Condition()
        self.proc = subprocess.Popen(
            [PY, os.path.join(HERE, script)] + list(args),
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=None if verbose else subprocess.DEVNULL,
            text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            try:
                obj = json.loads(raw)
            except ValueError:
                obj = {'unparsed': raw}
            with self._new:
                self.lines.append(obj)
                self._new.notify_all()
        with self._new:
            self._new.notify_all()

    def wait_for(self, pred, timeout=15.0):
        """The first line (ever seen) matching pred, or None after timeout."""
        deadline = time.monotonic() + timeout
        with self._new:
            while True:
                for obj in self.lines:
                    if pred(obj):
                        return obj
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None
                                 and not self._reader.is_alive()):
                    return None
                self._new.wait(min(left, 0.2))

    def matching(self, pred):
        with self._new:
            return [o for o in self.lines if pred(o)]

    def send(self, obj):
        self.proc.stdin.write(json.dumps(obj) + '\n')
        self.proc.stdin.flush()

    def terminate(self, timeout=20.0):
        """SIGTERM; returns the exit status (None if it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


class Checks(object):
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=None):
        if ok:
            self.passed += 1
            print('ok    %s' % name, flush=True)
        else:
            self.failed += 1
            print('FAIL  %s%s' % (name, '' if detail is None else
                                  ': ' + json.dumps(detail, default=str)[:1500]),
                  flush=True)
        return ok


class Client(object):
    def __init__(self, peer):
        self.peer = peer
        self._ids = iter(range(1, 10 ** 9))

    def run(self, **cmd):
        """Send one command; its result line (waits at most 30 s)."""
        cmd['id'] = next(self._ids)
        self.peer.send(cmd)
        return self.peer.wait_for(lambda o: o.get('id') == cmd['id'],
                                  30.0) or {'ok': None, 'error': 'no reply'}


def kombu_connection(url):
    import kombu
    parsed = urllib.parse.urlsplit(url.split(',')[0])
    vhost = urllib.parse.unquote(parsed.path[1:]) if parsed.path else ''
    return kombu.Connection(
        hostname=parsed.hostname or '127.0.0.1', port=parsed.port or 5672,
        userid=urllib.parse.unquote(parsed.username or 'guest'),
        password=urllib.parse.unquote(parsed.password or 'guest'),
        virtual_host=vhost or '/')


def exchange_exists(url, name):
    conn = kombu_connection(url)
    try:
        ch = conn.channel()
        ch.exchange_declare(name, 'fanout', passive=True)
        return True
    except Exception:  # noqa: BLE001 - 404 NOT_FOUND closes the channel
        return False
    finally:
        conn.release()


def cleanup(url, queues, exchanges):
    conn = kombu_connection(url)
    try:
        for name in queues:
            try:
                conn.channel().queue_delete(name)
            except Exception:  # noqa: BLE001 - best effort
                pass
        for name in exchanges:
            try:
                conn.channel().exchange_delete(name)
            except Exception:  # noqa: BLE001 - best effort
                pass
    finally:
        conn.release()


def rpc_checks(c, args, exchange, topic, verbose):
    common = ['--url', args.url, '--exchange', exchange, '--topic', topic]
    srv_a = Peer('A', 'py_rpc_server.py', *common, '--server', 'host1',
                 '--name', 'A', '--version', '1.3', verbose=verbose)
    srv_b = Peer('B', 'py_rpc_server.py', *common, '--server', 'host2',
                 '--name', 'B', '--version', '1.3', verbose=verbose)
    # C has a topic of its own: on the shared topic queue it would take a
    # share of the un-namespaced calls and refuse them.
    srv_c = Peer('C', 'py_rpc_server.py', '--url', args.url, '--exchange',
                 exchange, '--topic', topic + '_ns', '--server', 'host3',
                 '--name', 'C', '--version', '2.5', '--namespace', 'ns1',
                 verbose=verbose)
    cli = Peer('client', 'py_rpc_client.py', *common, stdin=True,
               verbose=verbose)
    cli4 = Peer('client-4-workers', 'py_rpc_client.py', *common,
                '--workers', '4', stdin=True, verbose=verbose)
    peers = [srv_a, srv_b, srv_c, cli, cli4]
    try:
        for p in peers:
            c.check('%s ready' % p.label,
                    p.wait_for(lambda o: o.get('event') == 'ready', 30))
        client = Client(cli)

        def handled_by(peer, method, n=None):
            return peer.matching(lambda o: o.get('event') == 'handled'
                                 and o.get('method') == method
                                 and (n is None or o.get('n') == n))

        value = {'list': [1, 'two', None, True, 2.5], 'nested': {'k': 'v'}}
        r = client.run(op='call', method='echo', args={'value': value})
        c.check('call echo returns its value',
                r.get('ok') and r.get('result') == value, r)
        r = client.run(op='call', method='add', args={'a': 2, 'b': 3})
        c.check('call add', r.get('ok') and r.get('result') == 5, r)

        ctx = {'user': 'u1', 'project_id': 'p1', 'request_id': 'req-1',
               'roles': ['admin', 'member'], 'auth_token': 'tok',
               'is_admin': True}
        r = client.run(op='call', method='get_context', args={}, context=ctx)
        c.check('get_context: the endpoint sees the plain dict + client_timeout',
                r.get('ok') and r.get('result') == dict(ctx,
                                                        client_timeout=None), r)
        r = client.run(op='call', method='get_context', args={}, context=ctx,
                       call_monitor_timeout=10)
        c.check('get_context: client_timeout is call_monitor_timeout',
                r.get('ok') and r['result'].get('client_timeout') == 10, r)

        r = client.run(op='call', method='raise_builtin',
                       args={'message': 'boom'})
        c.check('raise_builtin -> ValueError rebuilt (builtins)',
                r.get('ok') is False and r.get('exc_class') == 'ValueError'
                and r.get('exc_module') == 'builtins'
                and r.get('message', '').startswith('boom\n'), r)

        r = client.run(op='call', method='raise_custom',
                       args={'message': 'custom failure'})
        c.check('raise_custom, module not allowed -> RemoteError',
                r.get('ok') is False and r.get('exc_class') == 'RemoteError'
                and r.get('exc_module') == 'oslo_messaging.rpc.client'
                and r.get('exc_type') == 'InteropError'
                and r.get('value') == 'custom failure', r)
        r = client.run(op='call', method='raise_custom',
                       args={'message': 'custom failure', 'code': 7},
                       allowed_exmods=['interop_errors'])
        c.check('raise_custom, interop_errors allowed -> InteropError_Remote',
                r.get('ok') is False
                and r.get('exc_class') == 'InteropError_Remote'
                and r.get('exc_module') == 'interop_errors_Remote'
                and 'interop_errors.InteropError' in r.get('mro', [])
                and r.get('args') == ['custom failure']
                and r.get('kwargs') == {'code': 7}, r)

        r = client.run(op='call', method='no_such_method', args={})
        c.check('unknown method -> RemoteError NoSuchMethod',
                r.get('ok') is False and r.get('exc_class') == 'RemoteError'
                and r.get('exc_type') == 'NoSuchMethod'
                and r.get('value') ==
                'Endpoint does not support RPC method no_such_method', r)
        r = client.run(op='call', method='echo', args={'value': 1},
                       version='2.0')
        c.check('version 2.0 against 1.3 -> RemoteError UnsupportedVersion',
                r.get('ok') is False and r.get('exc_type') == 'UnsupportedVersion'
                and r.get('value') == 'Endpoint does not support RPC version '
                '2.0. Attempted method: echo', r)
        r = client.run(op='call', method='echo', args={'value': 1},
                       version='1.4')
        c.check('version 1.4 against 1.3 -> UnsupportedVersion',
                r.get('ok') is False
                and r.get('exc_type') == 'UnsupportedVersion', r)
        r = client.run(op='call', method='echo', args={'value': 1},
                       version='1.2')
        c.check('version 1.2 against 1.3 -> ok',
                r.get('ok') and r.get('result') == 1, r)
        r = client.run(op='call', method='echo', args={'valeu': 1})
        c.check('unexpected keyword argument -> TypeError rebuilt',
                r.get('ok') is False and r.get('exc_class') == 'TypeError', r)

        r = client.run(op='call', method='record', args={'n': 101},
                       server='host2')
        time.sleep(0.5)
        c.check('call prepare(server=host2) reaches only B',
                r.get('ok') and r.get('result') == 101
                and len(handled_by(srv_b, 'record', 101)) == 1
                and not handled_by(srv_a, 'record', 101), r)
        r = client.run(op='cast', method='record', args={'n': 102},
                       server='host1')
        got = srv_a.wait_for(lambda o: o.get('method') == 'record'
                             and o.get('n') == 102, 10)
        time.sleep(0.5)
        c.check('cast prepare(server=host1) reaches only A',
                r.get('ok') and got and not handled_by(srv_b, 'record', 102),
                r)
        r = client.run(op='cast', method='record', args={'n': 103},
                       fanout=True)
        got_a = srv_a.wait_for(lambda o: o.get('n') == 103, 10)
        got_b = srv_b.wait_for(lambda o: o.get('n') == 103, 10)
        time.sleep(0.5)
        c.check('fanout cast reaches both servers, once each',
                r.get('ok') and got_a and got_b
                and len(handled_by(srv_a, 'record', 103)) == 1
                and len(handled_by(srv_b, 'record', 103)) == 1, r)
        r = client.run(op='call', method='echo', args={'value': 1},
                       fanout=True)
        c.check('call with fanout -> InvalidTarget (local)',
                r.get('ok') is False and r.get('exc_class') == 'InvalidTarget',
                r)
        for n in range(200, 206):
            client.run(op='cast', method='record', args={'n': n})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            seen = [o['n'] for o in handled_by(srv_a, 'record')
                    + handled_by(srv_b, 'record') if 200 <= o['n'] < 206]
            if len(seen) >= 6:
                break
            time.sleep(0.2)
        time.sleep(0.5)
        seen = sorted(o['n'] for o in handled_by(srv_a, 'record')
                      + handled_by(srv_b, 'record') if 200 <= o['n'] < 206)
        c.check('6 topic casts: each handled exactly once by A or B',
                seen == list(range(200, 206)), seen)
        ctx_cast = srv_a.matching(lambda o: o.get('n') == 102)
        c.check('cast: the endpoint ctxt has client_timeout None',
                ctx_cast and ctx_cast[0].get('ctxt') == {'client_timeout': None},
                ctx_cast)

        r = client.run(op='call', method='sleep', args={'seconds': 3},
                       call_monitor_timeout=2, server='host1')
        c.check('sleep 3 s with call_monitor_timeout 2 -> ok (heartbeats)',
                r.get('ok') and r.get('result') == 3, r)
        r = client.run(op='call', method='sleep', args={'seconds': 3},
                       timeout=1, server='host1')
        c.check('sleep 3 s with timeout 1 -> MessagingTimeout after ~1 s',
                r.get('ok') is False
                and r.get('exc_class') == 'MessagingTimeout'
                and r.get('exc_module') == 'oslo_messaging.exceptions'
                and r.get('elapsed', 99) < 2.5, r)
        r = client.run(op='call', method='echo', args={'value': 1},
                       server='nobody', timeout=10, call_monitor_timeout=1)
        c.check('call to an absent server, call_monitor_timeout 1 -> '
                'MessagingTimeout after ~1 s',
                r.get('ok') is False
                and r.get('exc_class') == 'MessagingTimeout'
                and r.get('elapsed', 99) < 3, r)
        r = client.run(op='call', method='sleep', args={'seconds': 2.5},
                       call_monitor_timeout=1, server='host1')
        c.check('call_monitor_timeout 1 -> no heartbeats (int(1)/2 < 1): '
                'MessagingTimeout after ~1 s although the server is working',
                r.get('ok') is False
                and r.get('exc_class') == 'MessagingTimeout'
                and r.get('elapsed', 99) < 2, r)

        r = client.run(op='call', method='echo', args={'value': 'ns'},
                       topic=topic + '_ns', server='host3', namespace='ns1',
                       version='2.1')
        c.check('namespace ns1, version 2.1 against C (ns1, 2.5) -> ok',
                r.get('ok') and r.get('result') == 'ns', r)
        r = client.run(op='call', method='echo', args={'value': 'ns'},
                       topic=topic + '_ns', server='host3', version='2.1')
        c.check('no namespace against C (ns1) -> UnsupportedVersion',
                r.get('ok') is False
                and r.get('exc_type') == 'UnsupportedVersion', r)

        client4 = Client(cli4)
        started = time.monotonic()
        for _ in range(4):
            cmd = {'op': 'call', 'method': 'sleep', 'args': {'seconds': 1},
                   'server': 'host2', 'id': next(client4._ids)}
            cli4.send(cmd)
        done = [cli4.wait_for(lambda o, i=i: o.get('id') == i, 15)
                for i in range(1, 5)]
        took = time.monotonic() - started
        c.check('--workers 4: four 1 s calls run concurrently',
                all(d and d.get('ok') for d in done) and took < 2.5,
                {'took': took, 'results': done})
        time.sleep(2)  # let the timed-out sleeps finish on host1

        for label, cl, peer in (('client', client, cli),
                                ('client-4-workers', client4, cli4)):
            r = cl.run(op='quit')
            c.check('%s quit' % label, r.get('ok'), r)
            c.check('%s exit 0' % label, peer.proc.wait(15) == 0)
        fanout_exchange = '%s_fanout' % topic
        c.check('fanout exchange exists while servers run',
                exchange_exists(args.url, fanout_exchange))
        for p in (srv_a, srv_b, srv_c):
            rc = p.terminate()
            c.check('server %s: SIGTERM -> exit 0 with a stopped line'
                    % p.label,
                    rc == 0 and p.matching(lambda o: o.get('event')
                                           == 'stopped'), rc)
        # The fanout queues are deleted on a clean stop, so the auto-delete
        # fanout exchange goes with them.
        c.check('fanout queues deleted on stop (fanout exchange gone)',
                not exchange_exists(args.url, fanout_exchange))
    finally:
        for p in peers:
            p.terminate(5)


def notification_checks(c, args, exchange, topic, pool_topic, pool, verbose):
    common = ['--url', args.url, '--exchange', exchange]
    lis = Peer('listener', 'py_notification_listener.py', *common,
               '--topic', topic, verbose=verbose)
    pool1 = Peer('pool-1', 'py_notification_listener.py', *common,
                 '--topic', pool_topic, '--pool', pool, verbose=verbose)
    pool2 = Peer('pool-2', 'py_notification_listener.py', *common,
                 '--topic', pool_topic, '--pool', pool, verbose=verbose)
    peers = [lis, pool1, pool2]
    try:
        for p in peers:
            c.check('%s ready' % p.label,
                    p.wait_for(lambda o: o.get('event') == 'ready', 30))

        def notify(driver, priority, event_type, payload, context, t=topic,
                   count=1):
            out = subprocess.run(
                [PY, os.path.join(HERE, 'py_notifier.py')] + common
                + ['--topic', t, '--publisher-id', 'compute.host1',
                   '--event-type', event_type, '--payload',
                   json.dumps(payload), '--priority', priority, '--driver',
                   driver, '--context', json.dumps(context),
                   '--count', str(count)],
                stdout=subprocess.PIPE,
                stderr=None if verbose else subprocess.DEVNULL,
                text=True, timeout=60)
            sent = [json.loads(line) for line in out.stdout.splitlines()]
            return out.returncode == 0 and len(sent) == count and all(
                s.get('event') == 'sent' for s in sent)

        ctx = {'user': 'u1', 'project_id': 'p1', 'request_id': 'req-n1',
               'auth_token': 'secret', 'custom_key': 'dropped'}
        for driver, priority, wire_priority in (
                ('messagingv2', 'info', 'info'),
                ('messaging', 'error', 'error'),
                ('messagingv2', 'warning', 'warn'),
                ('messaging', 'sample', 'sample')):
            event_type = 'interop.%s.%s' % (driver, priority)
            payload = {'driver': driver, 'n': [1, 2]}
            c.check('notifier %s %s sent' % (driver, priority),
                    notify(driver, priority, event_type, payload, ctx))
            got = lis.wait_for(lambda o: o.get('event') == 'notification'
                               and o.get('event_type') == event_type, 15)
            c.check('listener got %s %s as priority %r, sanitised ctxt'
                    % (driver, priority, wire_priority),
                    got is not None
                    and got['priority'] == wire_priority
                    and got['publisher_id'] == 'compute.host1'
                    and got['payload'] == payload
                    and got['ctxt'] == {'user': 'u1', 'project_id': 'p1',
                                        'request_id': 'req-n1',
                                        'client_timeout': None}
                    and set(got['metadata']) == {'message_id', 'timestamp'},
                    got)

        c.check('notifier: 6 notifications to the pool topic',
                notify('messagingv2', 'info', 'interop.pool', {'k': 1}, {},
                       t=pool_topic, count=6))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            got = (pool1.matching(lambda o: o.get('event') == 'notification')
                   + pool2.matching(lambda o: o.get('event') == 'notification'))
            if len(got) >= 6:
                break
            time.sleep(0.2)
        time.sleep(0.5)
        got = (pool1.matching(lambda o: o.get('event') == 'notification')
               + pool2.matching(lambda o: o.get('event') == 'notification'))
        ids = [o['metadata']['message_id'] for o in got]
        c.check('pool listeners share the work: 6 received, no duplicates',
                len(ids) == 6 and len(set(ids)) == 6,
                {'pool-1': len(pool1.matching(
                    lambda o: o.get('event') == 'notification')),
                 'pool-2': len(pool2.matching(
                     lambda o: o.get('event') == 'notification'))})
        for p in peers:
            rc = p.terminate()
            c.check('%s: SIGTERM -> exit 0' % p.label, rc == 0, rc)
    finally:
        for p in peers:
            p.terminate(5)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--url', default=os.environ.get(
        'NOVARPC_TEST_TRANSPORT_URL', 'rabbit://guest:guest@127.0.0.1:5672/'))
    parser.add_argument('-v', '--verbose', action='store_true',
                        help="show the peers' stderr")
    args = parser.parse_args()

    run_id = uuid.uuid4().hex[:8]
    exchange = 'interop_%s' % run_id
    topic = 'selfcheck_%s' % run_id
    ntopic = 'selfcheck_notif_%s' % run_id
    ptopic = 'selfcheck_pooled_%s' % run_id
    pool = 'selfcheck_pool_%s' % run_id
    print('run %s: exchange %s' % (run_id, exchange), flush=True)

    c = Checks()
    try:
        rpc_checks(c, args, exchange, topic, args.verbose)
        notification_checks(c, args, exchange, ntopic, ptopic, pool,
                            args.verbose)
    finally:
        queues = [topic, '%s.host1' % topic, '%s.host2' % topic,
                  topic + '_ns', '%s_ns.host3' % topic, pool]
        queues += ['%s.%s' % (t, p) for t in (ntopic, ptopic)
                   for p in PRIORITIES]
        cleanup(args.url, queues,
                [exchange, '%s_fanout' % topic, '%s_ns_fanout' % topic])
    print('%d passed, %d failed' % (c.passed, c.failed), flush=True)
    return 0 if c.failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
