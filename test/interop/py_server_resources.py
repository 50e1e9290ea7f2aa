#!/usr/bin/python3
"""python-novaclient through a keystoneauth1 v3 session: the resources around servers.

    py_server_resources.py --auth-url http://127.0.0.1:PORT/identity/v3 \
        --admin-user U --admin-password P --user U2 --password P2 --project PROJ \
        --microversion 2.1|2.79 --group NAME --network UUID --evacuee SERVER_ID [--debug]

The user boots a server with a key pair and the security group NAME, then each
step drives it through novaclient; the admin session does what needs admin
(diagnostics, reset_state, evacuate of the server EVACUEE whose compute is down).

Steps (one JSON line each on stdout, {"step", "ok", ...}; the last is "done"):
  keypairs        create (generated), import, list, get, delete
  boot            servers.create(key_name, security_groups) until ACTIVE
  console         get_console_output(): whole (key fingerprint, login prompt) and length=2
  diagnostics     admin servers.diagnostics(): 2.48 form from 2.48, free form before
  interfaces      interface_list / interface_attach(net_id) / interface_detach
  security_groups list_security_group / add_security_group (by id) / remove_security_group
  tags            add_tag / tag_list / delete_tag (from 2.26; skipped before)
  actions         instance_action.list / get with events
  lock            lock (reason from 2.73) -> locked fields; stop refused (409); unlock
  stop_start      stop until SHUTOFF, start until ACTIVE
  reset_state     admin reset_state('error') then ('active')
  evacuate        admin evacuate(EVACUEE) until ACTIVE on another host, same addresses
  delete          delete until gone
Exit status 0 when every step passed.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from interop_common import emit  # noqa: E402
import interop_common  # noqa: E402
from py_keystone_admin import Steps, check, nova_for, session_for  # noqa: E402

IMAGE = '928e2889-6359-40ef-b44c-0aa0b7394be1'


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    for name in ('--auth-url', '--admin-user', '--admin-password', '--user', '--password', '--project',
                 '--group', '--network', '--evacuee'):
        parser.add_argument(name, required=True)
    parser.add_argument('--admin-project', required=True)
    parser.add_argument('--microversion', default='2.1')
    parser.add_argument('--debug', action='store_true')
    return parser.parse_args()


def wait_for(nova, server_id, status, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        server = nova.servers.get(server_id)
        task = getattr(server, 'OS-EXT-STS:task_state', None)
        if server.status == status and not task:
            return server
        if time.monotonic() > deadline:
            raise AssertionError('server %s is %s/%s, not %s' % (server_id, server.status, task, status))
        time.sleep(0.2)


def main():
    args = parse_args()
    interop_common.setup_logging(args.debug)
    from novaclient import api_versions
    from novaclient import exceptions as nova_exc
    mv = api_versions.APIVersion(args.microversion)
    steps = Steps()

    nova = nova_for(args, session_for(args, args.user, args.password, args.project))
    admin = nova_for(args, session_for(args, args.admin_user, args.admin_password, args.admin_project))
    state = {}
    suffix = args.microversion.replace('.', '-')

    def keypairs_step():
        generated = nova.keypairs.create('gen-%s' % suffix)
        check(generated.private_key.startswith('-----BEGIN RSA PRIVATE KEY-----'), 'no private key')
        imported = nova.keypairs.create('imp-%s' % suffix, public_key=generated.public_key)
        check(imported.fingerprint == generated.fingerprint, 'fingerprints differ')
        names = sorted(k.name for k in nova.keypairs.list())
        check({'gen-%s' % suffix, 'imp-%s' % suffix} <= set(names), 'listed %s' % names)
        got = nova.keypairs.get('imp-%s' % suffix)
        if mv >= api_versions.APIVersion('2.2'):
            check(got.type == 'ssh', 'type %r' % getattr(got, 'type', None))
        nova.keypairs.delete('imp-%s' % suffix)
        state['key'] = generated
        return {'fingerprint': generated.fingerprint, 'listed': names}

    def boot_step():
        extra = {'nics': 'auto'} if mv >= api_versions.APIVersion('2.37') else {}
        server = nova.servers.create('res-%s' % suffix, IMAGE, '1', key_name=state['key'].name,
                                     security_groups=[args.group], **extra)
        server = wait_for(nova, server.id, 'ACTIVE')
        check(server.key_name == state['key'].name, 'key_name %r' % server.key_name)
        groups = sorted(g['name'] for g in server.security_groups)
        check(groups == [args.group], 'security_groups %s' % groups)
        state['server'] = server
        return {'id': server.id, 'key_name': server.key_name, 'security_groups': groups}

    def console_step():
        server = state['server']
        output = server.get_console_output()
        check(state['key'].fingerprint in output, 'fingerprint not on the console')
        check('login:' in output, 'no login prompt')
        tail = server.get_console_output(length=2)
        check(tail.splitlines() == output.splitlines()[-2:], 'tail %r' % tail)
        return {'lines': len(output.splitlines()), 'tail': tail.splitlines()}

    def diagnostics_step():
        response, body = admin.servers.diagnostics(state['server'].id)
        check(response.status_code == 200, 'status %s' % response.status_code)
        if mv >= api_versions.APIVersion('2.48'):
            check(body['driver'] == 'fake' and body['num_nics'] == 1, 'diagnostics %s' % body)
        else:
            check('cpu0_time' in body and 'memory' in body, 'diagnostics %s' % body)
        try:
            nova.servers.diagnostics(state['server'].id)
        except nova_exc.Forbidden:
            return {'keys': sorted(body)[:6], 'user': 'Forbidden'}
        raise AssertionError('a non-admin read diagnostics')

    def interfaces_step():
        server = state['server']
        before = nova.servers.interface_list(server)
        check(len(before) == 1, 'interfaces before %d' % len(before))
        attached = nova.servers.interface_attach(server, None, args.network, None)
        after = nova.servers.interface_list(server)
        check(len(after) == 2, 'interfaces after attach %d' % len(after))
        nova.servers.interface_detach(server, attached.port_id)
        final = nova.servers.interface_list(server)
        check([i.port_id for i in final] == [i.port_id for i in before], 'interfaces after detach')
        return {'attached': attached.fixed_ips[0]['ip_address'], 'port_id': attached.port_id}

    def security_groups_step():
        server = state['server']
        default_id = None
        resp, body = nova.client.get('/servers/%s/os-security-groups' % server.id)
        check([g['name'] for g in body['security_groups']] == [args.group], 'before %s' % body)
        groups = server.list_security_group()
        check([g.name for g in groups] == [args.group], 'list_security_group %s' % groups)
        # openstackclient style: the group's id in addSecurityGroup.name.
        resp, body = nova.client.get('/os-security-groups') if mv < api_versions.APIVersion('2.36') else (None, None)
        if body:
            default_id = [g['id'] for g in body['security_groups'] if g['name'] == 'default'][0]
        server.add_security_group(default_id or 'default')
        names = sorted(g.name for g in server.list_security_group())
        check(names == sorted([args.group, 'default']), 'after add %s' % names)
        server.remove_security_group('default')
        check([g.name for g in server.list_security_group()] == [args.group], 'after remove')
        return {'added_by': 'id' if default_id else 'name'}

    def tags_step():
        if mv < api_versions.APIVersion('2.26'):
            return {'skipped': 'tags need 2.26'}
        server = state['server']
        server.add_tag('interop')
        server.add_tag('blue')
        check(sorted(server.tag_list()) == ['blue', 'interop'], 'tags %s' % server.tag_list())
        server.delete_tag('blue')
        check(nova.servers.get(server.id).tags == ['interop'], 'server tags')
        return {'tags': server.tag_list()}

    def actions_step():
        server = state['server']
        actions = nova.instance_action.list(server)
        names = [a.action for a in actions]
        check(names[-1] == 'create' and 'addSecurityGroup' not in names, 'actions %s' % names)
        create = nova.instance_action.get(server, actions[-1].request_id)
        check(create.action == 'create' and isinstance(create.events, list), 'create action %s' % create.to_dict())
        return {'actions': names}

    def lock_step():
        server = state['server']
        with_reason = mv >= api_versions.APIVersion('2.73')
        if with_reason:
            server.lock(reason='interop maintenance')
        else:
            server.lock()
        shown = nova.servers.get(server.id)
        if mv >= api_versions.APIVersion('2.9'):
            check(shown.locked is True, 'locked %r' % getattr(shown, 'locked', None))
        if with_reason:
            check(shown.locked_reason == 'interop maintenance', 'reason %r' % shown.locked_reason)
        try:
            server.stop()
            raise AssertionError('a locked server stopped')
        except nova_exc.Conflict as e:
            refused = e.code
        server.unlock()
        return {'stop_refused': refused, 'reason': getattr(shown, 'locked_reason', None)}

    def stop_start_step():
        server = state['server']
        server.stop()
        wait_for(nova, server.id, 'SHUTOFF')
        server.start()
        wait_for(nova, server.id, 'ACTIVE')
        return {'cycled': server.id}

    def reset_state_step():
        server = state['server']
        admin.servers.reset_state(server.id, 'error')
        check(nova.servers.get(server.id).status == 'ERROR', 'not ERROR')
        admin.servers.reset_state(server.id, 'active')
        check(nova.servers.get(server.id).status == 'ACTIVE', 'not ACTIVE')
        try:
            nova.servers.reset_state(server.id, 'error')
        except nova_exc.Forbidden as e:
            return {'user': e.code}
        raise AssertionError('a non-admin reset the state')

    def evacuate_step():
        before = admin.servers.get(args.evacuee)
        source = getattr(before, 'OS-EXT-SRV-ATTR:host')
        if mv < api_versions.APIVersion('2.14'):
            response, body = admin.servers.evacuate(args.evacuee, on_shared_storage=False)
            check(body and body.get('adminPass'), 'no adminPass at %s: %s' % (args.microversion, body))
        else:
            response, body = admin.servers.evacuate(args.evacuee)
        check(response.status_code == 200, 'status %s' % response.status_code)
        after = wait_for(admin, args.evacuee, 'ACTIVE')
        target = getattr(after, 'OS-EXT-SRV-ATTR:host')
        check(target != source, 'still on %s' % source)
        check(after.addresses == before.addresses, 'addresses %s -> %s' % (before.addresses, after.addresses))
        return {'from': source, 'to': target}

    def delete_step():
        server = state['server']
        server.delete()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                nova.servers.get(server.id)
            except nova_exc.NotFound:
                nova.keypairs.delete(state['key'].name)
                return {'deleted': server.id}
            time.sleep(0.2)
        raise AssertionError('server not deleted in time')

    for name, fn in [('keypairs', keypairs_step), ('boot', boot_step), ('console', console_step),
                     ('diagnostics', diagnostics_step), ('interfaces', interfaces_step),
                     ('security_groups', security_groups_step), ('tags', tags_step),
                     ('actions', actions_step), ('lock', lock_step),
                     ('stop_start', stop_start_step), ('reset_state', reset_state_step),
                     ('evacuate', evacuate_step), ('delete', delete_step)]:
        if 'server' not in state and name not in ('keypairs', 'boot', 'evacuate'):
            emit({'step': name, 'ok': False, 'error': 'no server (boot failed)'})
            steps.failed.append(name)
            continue
        steps.run(name, fn)
    emit({'step': 'done', 'ok': not steps.failed, 'failed': steps.failed})
    return 0 if not steps.failed else 1


if __name__ == '__main__':
    sys.exit(main())
