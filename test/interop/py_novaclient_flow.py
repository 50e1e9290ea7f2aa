#!/usr/bin/python3
"""Drive a Nova-compatible API with python-novaclient, without Keystone.

    py_novaclient_flow.py --endpoint http://127.0.0.1:PORT/v2.1 \
        --token user:project [--image-id ID] [--flavor-id ID] [--name NAME] \
        [--microversion 2.1] [--images-api compute|glance] [--timeout 60] \
        [--poll-interval 0.5] [--debug]

Authentication is keystoneauth1's token_endpoint.Token plugin: every request
carries "X-Auth-Token: <token>" and goes to --endpoint (no catalog, no
Keystone, no version discovery request). novaclient adds
"X-OpenStack-Nova-API-Version: <microversion>", and from 2.27 on also
"OpenStack-API-Version: compute <microversion>".

Steps, in order (one JSON line each on stdout):
  list_flavors      flavors.list()                  GET /flavors/detail
  list_images       compute: GET /images (nova's image proxy, via novaclient's
                    HTTP client; novaclient has no manager for it);
                    glance: glance.list() -> GET <endpoint>/v2/images
  boot              servers.create(name, image, flavor, meta={...})
                                                    POST /servers
  wait_active       servers.get() until ACTIVE      GET /servers/{id}
  list_servers      servers.list()                  GET /servers/detail
  show              servers.get()                   GET /servers/{id}
  set_meta          servers.set_meta()              POST /servers/{id}/metadata
  delete_meta       servers.delete_meta() + get()   DELETE /servers/{id}/metadata/{key}
  reboot            servers.reboot(SOFT)            POST /servers/{id}/action
  wait_active_after_reboot                          GET /servers/{id}
  delete            servers.delete()                DELETE /servers/{id}
  wait_deleted      servers.get() until 404         GET /servers/{id}

Each line is {"step": NAME, "ok": true, ...details} or
{"step": NAME, "ok": false, "error": "...", ...}. After a failed step that
later steps depend on, the flow stops (deleting the server if it was
created: step "cleanup"); a failed listing stops it only when --image-id /
--flavor-id was not given. The last line is {"step": "done", "ok": <all ok>,
"failed": [...]}. Exit status 0 when every step passed, 1 otherwise.
"""

import argparse
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from interop_common import emit  # noqa: E402
import interop_common  # noqa: E402

META = {'purpose': 'interop', 'peer': 'python-novaclient'}
EXTRA_META = {'color': 'blue'}


class StepFailed(Exception):
    pass


def describe_error(e):
    info = {'error': '%s: %s' % (type(e).__name__, e)}
    code = getattr(e, 'code', None)
    if isinstance(code, int):
        info['status_code'] = code
    request_id = getattr(e, 'request_id', None)
    if request_id:
        info['request_id'] = request_id
    return info


class Flow(object):

    def __init__(self, args):
        self.args = args
        self.failed = []

    def step(self, name, fn):
        """Run fn() -> details dict; print the step line; re-raise failures."""
        started = time.monotonic()
        try:
            details = fn() or {}
        except Exception as e:  # noqa: BLE001 - every failure is a step result
            line = {'step': name, 'ok': False}
            line.update(describe_error(e))
            line['elapsed'] = round(time.monotonic() - started, 3)
            emit(line)
            self.failed.append(name)
            raise StepFailed(name) from e
        line = {'step': name, 'ok': True}
        line.update(details)
        line['elapsed'] = round(time.monotonic() - started, 3)
        emit(line)
        return details

    def wait_for_status(self, nova, server_id, wanted='ACTIVE'):
        deadline = time.monotonic() + self.args.timeout
        seen = []
        while True:
            server = nova.servers.get(server_id)
            status = getattr(server, 'status', None)
            if not seen or seen[-1] != status:
                seen.append(status)
            if status == wanted:
                return {'id': server_id, 'status': status, 'statuses_seen': seen}
            if status == 'ERROR':
                raise RuntimeError('server %s went to ERROR (fault: %s)' % (
                    server_id, getattr(server, 'fault', None)))
            if time.monotonic() > deadline:
                raise RuntimeError('server %s not %s after %ss; statuses seen: %s'
                                   % (server_id, wanted, self.args.timeout, seen))
            time.sleep(self.args.poll_interval)

    def wait_deleted(self, nova, server_id):
        from novaclient import exceptions as nova_exc
        deadline = time.monotonic() + self.args.timeout
        seen = []
        while True:
            try:
                server = nova.servers.get(server_id)
            except nova_exc.NotFound:
                return {'id': server_id, 'statuses_seen': seen,
                        'status_code': 404}
            status = getattr(server, 'status', None)
            if not seen or seen[-1] != status:
                seen.append(status)
            if time.monotonic() > deadline:
                raise RuntimeError('server %s still there after %ss; statuses '
                                   'seen: %s' % (server_id, self.args.timeout,
                                                 seen))
            time.sleep(self.args.poll_interval)


def make_client(args):
    from keystoneauth1 import session as ks_session
    from keystoneauth1 import token_endpoint
    from novaclient import client as nova_client

    auth = token_endpoint.Token(args.endpoint, args.token)
    sess = ks_session.Session(auth=auth, timeout=args.http_timeout)
    return nova_client.Client(args.microversion, session=sess,
                              endpoint_override=args.endpoint)


def run(args, flow):
    state = {}

    def client():
        state['nova'] = make_client(args)
        return {'endpoint': args.endpoint,
                'microversion': str(state['nova'].api_version.get_string())}

    flow.step('client', client)
    nova = state['nova']

    def list_flavors():
        flavors = nova.flavors.list()
        state['flavors'] = [f.id for f in flavors]
        return {'count': len(flavors),
                'flavors': [{'id': f.id, 'name': getattr(f, 'name', None)}
                            for f in flavors]}

    def list_images():
        if args.images_api == 'glance':
            images = [i.to_dict() for i in nova.glance.list()]
        else:
            _resp, body = nova.client.get('/images')
            images = body['images']
        state['images'] = [i['id'] for i in images]
        return {'api': args.images_api, 'count': len(images),
                'images': [{'id': i['id'], 'name': i.get('name')}
                           for i in images]}

    # A listing failure is recorded but only stops the flow when the listing
    # was needed to pick what to boot.
    for name, fn, given in (('list_flavors', list_flavors, args.flavor_id),
                            ('list_images', list_images, args.image_id)):
        try:
            flow.step(name, fn)
        except StepFailed:
            if not given:
                raise

    def boot():
        image = args.image_id or (state.get('images') or [None])[0]
        flavor = args.flavor_id or (state.get('flavors') or [None])[0]
        if image is None or flavor is None:
            raise RuntimeError('no image or flavor to boot with (images %s, '
                               'flavors %s)' % (state.get('images'),
                                                state.get('flavors')))
        server = nova.servers.create(args.name, image, flavor, meta=dict(META))
        state['server_id'] = server.id
        return {'id': server.id, 'name': args.name, 'image': image,
                'flavor': flavor, 'meta': META,
                'response': server.to_dict()}

    flow.step('boot', boot)
    server_id = state['server_id']
    try:
        flow.step('wait_active', lambda: flow.wait_for_status(nova, server_id))

        def list_servers():
            servers = nova.servers.list()
            ids = [s.id for s in servers]
            if server_id not in ids:
                raise RuntimeError('server %s not in the list %s'
                                   % (server_id, ids))
            return {'count': len(servers), 'ids': ids}

        flow.step('list_servers', list_servers)

        def show():
            server = nova.servers.get(server_id)
            if server.name != args.name:
                raise RuntimeError('name is %r, wanted %r'
                                   % (server.name, args.name))
            metadata = getattr(server, 'metadata', None)
            if metadata != META:
                raise RuntimeError('metadata is %r, wanted %r'
                                   % (metadata, META))
            return {'server': server.to_dict()}

        flow.step('show', show)

        def set_meta():
            metadata = nova.servers.set_meta(server_id, dict(EXTRA_META))
            got = metadata.to_dict() if hasattr(metadata, 'to_dict') else metadata
            want = dict(META, **EXTRA_META)
            if got != want:
                raise RuntimeError('metadata after set_meta is %r, wanted %r'
                                   % (got, want))
            return {'metadata': got}

        flow.step('set_meta', set_meta)

        def delete_meta():
            nova.servers.delete_meta(server_id, list(EXTRA_META))
            metadata = nova.servers.get(server_id).metadata
            if metadata != META:
                raise RuntimeError('metadata after delete_meta is %r, wanted %r'
                                   % (metadata, META))
            return {'deleted_keys': list(EXTRA_META), 'metadata': metadata}

        flow.step('delete_meta', delete_meta)

        def reboot():
            from novaclient.v2 import servers as nova_servers
            nova.servers.reboot(server_id,
                                reboot_type=nova_servers.REBOOT_SOFT)
            return {'id': server_id, 'type': 'SOFT'}

        flow.step('reboot', reboot)
        flow.step('wait_active_after_reboot',
                  lambda: flow.wait_for_status(nova, server_id))
    except StepFailed:
        def cleanup():
            nova.servers.delete(server_id)
            return {'id': server_id}
        try:
            flow.step('cleanup', cleanup)
        except StepFailed:
            pass
        raise

    def delete():
        nova.servers.delete(server_id)
        return {'id': server_id}

    flow.step('delete', delete)
    flow.step('wait_deleted', lambda: flow.wait_deleted(nova, server_id))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--endpoint', required=True,
                        help='compute endpoint, e.g. http://127.0.0.1:8774/v2.1')
    parser.add_argument('--token', required=True,
                        help='sent as X-Auth-Token, e.g. user:project')
    parser.add_argument('--image-id', default=None,
                        help='image to boot (default: the first listed)')
    parser.add_argument('--flavor-id', default=None,
                        help='flavor to boot (default: the first listed)')
    parser.add_argument('--name', default=None,
                        help='server name (default: interop-<random>)')
    parser.add_argument('--microversion', default='2.1',
                        help='compute API microversion (default: %(default)s)')
    parser.add_argument('--images-api', choices=('compute', 'glance'),
                        default='compute',
                        help='compute: GET <endpoint>/images (nova image '
                             'proxy); glance: novaclient glance.list(), i.e. '
                             'GET <endpoint>/v2/images (default: %(default)s)')
    parser.add_argument('--timeout', type=float, default=60.0,
                        help='seconds to wait for ACTIVE / deletion '
                             '(default: %(default)s)')
    parser.add_argument('--poll-interval', type=float, default=0.5)
    parser.add_argument('--http-timeout', type=float, default=30.0,
                        help='per-request HTTP timeout (default: %(default)s)')
    parser.add_argument('--debug', action='store_true',
                        help='DEBUG logging on stderr (shows the HTTP traffic)')
    args = parser.parse_args()
    interop_common.setup_logging(args.debug)
    args.endpoint = args.endpoint.rstrip('/')
    if args.name is None:
        args.name = 'interop-%s' % uuid.uuid4().hex[:8]

    flow = Flow(args)
    try:
        run(args, flow)
    except StepFailed:
        pass
    emit({'step': 'done', 'ok': not flow.failed, 'failed': flow.failed})
    return 0 if not flow.failed else 1


if __name__ == '__main__':
    sys.exit(main())
