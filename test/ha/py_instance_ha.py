#!/usr/bin/python3
"""openstacksdk's instance_ha proxy against novarpc's instance HA API.

Reads OS_* from the environment; argv[1] is the segment name to create, argv[2] a
compute host to add to it. Prints one JSON object with what the proxy returned.
"""
import json
import sys

import openstack


def main():
    segment_name, host_name = sys.argv[1], sys.argv[2]
    conn = openstack.connect()
    ha = conn.instance_ha
    segment = ha.create_segment(name=segment_name, recovery_method='auto', service_type='COMPUTE')
    host = ha.create_host(segment.uuid, name=host_name, type='COMPUTE', control_attributes='SSH')
    notification = ha.create_notification(
        type='PROCESS', hostname=host_name, generated_time='2026-12-07T18:00:00',
        payload={'process_name': 'nova-compute', 'event': 'STARTED'})
    fetched = ha.get_notification(notification.notification_uuid)
    out = {
        'segments': [s.name for s in ha.segments()],
        'segment': {'uuid': segment.uuid, 'recovery_method': segment.recovery_method, 'is_enabled': segment.is_enabled},
        'hosts': [h.name for h in ha.hosts(segment.uuid)],
        'host': {'uuid': host.uuid, 'failover_segment_id': host.failover_segment_id},
        'notification': {'uuid': notification.notification_uuid, 'status': notification.status},
        'fetched': {'uuid': fetched.notification_uuid, 'type': fetched.type, 'hostname': fetched.hostname},
        'notifications': len(list(ha.notifications())),
    }
    print(json.dumps(out))


if __name__ == '__main__':
    main()
