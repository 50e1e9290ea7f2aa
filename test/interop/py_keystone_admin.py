#!/usr/bin/python3
"""python-novaclient through a keystoneauth1 session against novarpc's Identity endpoint.

    py_keystone_admin.py --auth-url http://127.0.0.1:PORT/identity/v3 \
        --admin-user U --admin-password P --project PROJ \
        --user U2 --password P2 --user-project PROJ2 \
        --microversion 2.1|2.79 [--legacy-auth-url http://.../identity/v2.0] [--debug]

Authentication: keystoneauth1.identity.v3.Password (user and project in the
Default domain) in a keystoneauth1 Session; novaclient finds the compute
endpoint in the token's catalog. With --legacy-auth-url, the old positional
style novaclient.client.Client('2', USER, PASSWORD, PROJECT, AUTH_URL) too.

Steps (one JSON line each on stdout, {"step", "ok", ...}; the last is "done"):
  session           token issued, catalog read (compute endpoint)
  flavors           flavors.list(), get_keys() of each (os-extra_specs)
  flavor_extra_specs admin set_keys / get_keys / unset_keys on flavor 1
  services          services.list(binary='nova-compute')
  service_disable   disable_log_reason, then enable (host/binary up to 2.52, uuid from 2.53)
  service_force_down force_down True then False (2.11+)
  hypervisors       hypervisors.list(), get(), search(), statistics
  limits            limits.get().absolute: maxTotalInstances, totalInstancesUsed
  quotas            quotas.get/defaults, admin update instances, then back
  availability_zones availability_zones.list(detailed=False) and detailed (admin)
  non_admin         the user's session: services.list() -> Forbidden (403)
  legacy_client     Client('2', USER, PASSWORD, PROJECT, AUTH_URL).flavors.list()
Exit status 0 when every step passed.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from interop_common import emit  # noqa: E402
import interop_common  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--auth-url', required=True)
    parser.add_argument('--admin-user', required=True)
    parser.add_argument('--admin-password', required=True)
    parser.add_argument('--user', required=True)
    parser.add_argument('--password', required=True)
    parser.add_argument('--project', required=True, help="the admin's project")
    parser.add_argument('--user-project', required=True, help="the non-admin user's project")
    parser.add_argument('--microversion', default='2.1')
    parser.add_argument('--legacy-auth-url')
    parser.add_argument('--debug', action='store_true')
    return parser.parse_args()


def session_for(args, user, password, project):
    from keystoneauth1 import session
    from keystoneauth1.identity import v3
    auth = v3.Password(auth_url=args.auth_url, username=user, password=password,
                       project_name=project, user_domain_id='default',
                       project_domain_name='Default')
    return session.Session(auth=auth)


def nova_for(args, sess):
    from novaclient import client
    return client.Client(args.microversion, session=sess)


class Steps(object):
    def __init__(self):
        self.failed = []

    def run(self, name, fn):
        started = time.monotonic()
        try:
            details = fn() or {}
        except Exception as e:  # noqa: BLE001 - every failure is a step result
            emit({'step': name, 'ok': False, 'error': '%s: %s' % (type(e).__name__, e),
                  'status_code': getattr(e, 'code', None)})
            self.failed.append(name)
            return
        line = {'step': name, 'ok': True}
        line.update(details)
        line['elapsed'] = round(time.monotonic() - started, 3)
        emit(line)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def main():
    args = parse_args()
    interop_common.setup_logging(args.debug)
    from novaclient import api_versions
    from novaclient import exceptions as nova_exc
    mv = api_versions.APIVersion(args.microversion)
    uuids = mv >= api_versions.APIVersion('2.53')
    steps = Steps()
    admin_sess = session_for(args, args.admin_user, args.admin_password, args.project)
    nova = nova_for(args, admin_sess)

    def session_step():
        endpoint = admin_sess.get_endpoint(service_type='compute', interface='public')
        check(endpoint.endswith('/v2.1'), 'compute endpoint %s' % endpoint)
        return {'compute_endpoint': endpoint, 'token_chars': len(admin_sess.get_token())}

    def flavors_step():
        flavors = nova.flavors.list()
        check(flavors, 'no flavors')
        keys = {f.name: f.get_keys() for f in flavors}
        return {'flavors': sorted(keys), 'with_specs': sorted(n for n, k in keys.items() if k)}

    def extra_specs_step():
        flavor = nova.flavors.get('1')
        flavor.set_keys({'hw:cpu_policy': 'dedicated'})
        got = nova.flavors.get('1').get_keys()
        check(got.get('hw:cpu_policy') == 'dedicated', 'extra specs after set: %s' % got)
        flavor.unset_keys(['hw:cpu_policy'])
        check('hw:cpu_policy' not in nova.flavors.get('1').get_keys(), 'key still set')
        return {'set_and_unset': 'hw:cpu_policy'}

    def compute_service():
        services = nova.services.list(binary='nova-compute')
        check(services, 'no nova-compute service')
        return services[0]

    def services_step():
        service = compute_service()
        check(service.state == 'up' and service.status == 'enabled', 'service %s' % service.to_dict())
        check(isinstance(service.id, str) == uuids, 'id %r at %s' % (service.id, args.microversion))
        return {'host': service.host, 'id': service.id, 'state': service.state}

    def disable_step():
        service = compute_service()
        if uuids:
            disabled = nova.services.disable_log_reason(service.id, 'interop maintenance')
        else:
            disabled = nova.services.disable_log_reason(service.host, 'nova-compute', 'interop maintenance')
        check(disabled.status == 'disabled', 'after disable: %s' % disabled.to_dict())
        again = compute_service()
        check(again.disabled_reason == 'interop maintenance', 'reason %r' % again.disabled_reason)
        enabled = nova.services.enable(service.id) if uuids else nova.services.enable(service.host, 'nova-compute')
        check(enabled.status == 'enabled', 'after enable: %s' % enabled.to_dict())
        return {'disabled_then_enabled': service.host}

    def force_down_step():
        if mv < api_versions.APIVersion('2.11'):
            return {'skipped': 'force_down needs 2.11'}
        service = compute_service()
        target = (service.id,) if uuids else (service.host, 'nova-compute')
        nova.services.force_down(*target, force_down=True)
        check(compute_service().state == 'down', 'forced down service still up')
        nova.services.force_down(*target, force_down=False)
        check(compute_service().forced_down is False, 'forced_down not cleared')
        return {'forced_down_then_up': service.host}

    def hypervisors_step():
        hypervisors = nova.hypervisors.list()
        check(hypervisors, 'no hypervisors')
        one = nova.hypervisors.get(hypervisors[0].id)
        check(one.memory_mb > 0, 'memory_mb %r' % one.memory_mb)
        found = nova.hypervisors.search(one.hypervisor_hostname)
        stats = nova.hypervisor_stats.statistics()
        check(stats.count == len(hypervisors), 'statistics count %r' % stats.count)
        return {'hypervisors': [h.hypervisor_hostname for h in hypervisors], 'id': one.id, 'found': len(found)}

    def limits_step():
        absolute = {item.name: item.value for item in nova.limits.get().absolute}
        check(absolute.get('maxTotalInstances') == 10, 'maxTotalInstances %r' % absolute.get('maxTotalInstances'))
        check('totalInstancesUsed' in absolute, 'no usage in %s' % absolute)
        return {'maxTotalInstances': absolute['maxTotalInstances'], 'totalInstancesUsed': absolute['totalInstancesUsed']}

    def quotas_step():
        quota = nova.quotas.get(args.project)
        defaults = nova.quotas.defaults(args.project)
        check(defaults.instances == 10, 'default instances %r' % defaults.instances)
        nova.quotas.update(args.project, instances=quota.instances + 5)
        check(nova.quotas.get(args.project).instances == quota.instances + 5, 'update not applied')
        nova.quotas.update(args.project, instances=quota.instances)
        return {'instances': quota.instances, 'cores': quota.cores}

    def zones_step():
        zones = nova.availability_zones.list(detailed=False)
        names = [zone.zoneName for zone in zones]
        check('nova' in names, 'zones %s' % names)
        detailed = nova.availability_zones.list(detailed=True)
        return {'zones': names, 'detailed': sorted(zone.zoneName for zone in detailed)}

    def non_admin_step():
        user_nova = nova_for(args, session_for(args, args.user, args.password, args.user_project))
        check(user_nova.flavors.list(), 'user sees no flavors')
        try:
            user_nova.services.list()
        except nova_exc.Forbidden as e:
            return {'services_list': 'Forbidden', 'status_code': e.code}
        raise AssertionError('a non-admin listed services')

    def legacy_step():
        if not args.legacy_auth_url:
            return {'skipped': 'no --legacy-auth-url'}
        from novaclient import client
        legacy = client.Client('2', args.user, args.password, args.user_project, args.legacy_auth_url)
        flavors = legacy.flavors.list()
        servers = legacy.servers.list()
        return {'flavors': len(flavors), 'servers': len(servers)}

    for name, fn in [('session', session_step), ('flavors', flavors_step),
                     ('flavor_extra_specs', extra_specs_step), ('services', services_step),
                     ('service_disable', disable_step), ('service_force_down', force_down_step),
                     ('hypervisors', hypervisors_step), ('limits', limits_step),
                     ('quotas', quotas_step), ('availability_zones', zones_step),
                     ('non_admin', non_admin_step), ('legacy_client', legacy_step)]:
        steps.run(name, fn)
    emit({'step': 'done', 'ok': not steps.failed, 'failed': steps.failed})
    return 0 if not steps.failed else 1


if __name__ == '__main__':
    sys.exit(main())
