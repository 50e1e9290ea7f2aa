/**
 * A nova.conf written the way Nova's install guide writes one (trimmed): comments,
 * sections novarpc has no use for ([glance], [keystone_authtoken], [placement], ...),
 * Nova's [database] names and an [oslo_messaging_rabbit] section.
 */

/** What a test changes in it. */
export interface NovaConfSettings {
  transportUrl?: string;
  databaseUrl?: string;
  /** The `rabbit_quorum_queue` line; default `rabbit_quorum_queue = false`, '' for none. */
  quorumLine?: string;
  /** More `[DEFAULT]` lines (topics, exchange, host). */
  extraDefault?: string;
  /** More `[database]` lines. */
  extraDatabase?: string;
}

/** The nova.conf text. */
export function novaDocConf(input: NovaConfSettings = {}): string {
  const settings = {
    transportUrl: 'rabbit://openstack:RABBIT_PASS@controller:5672/',
    databaseUrl: 'mysql+pymysql://nova:NOVA_DBPASS@controller/nova',
    quorumLine: 'rabbit_quorum_queue = false',
    extraDefault: '',
    extraDatabase: '',
    ...input,
  };
  return `
[DEFAULT]
# ...
my_ip = 10.0.0.11
enabled_apis = osapi_compute,metadata
transport_url = ${settings.transportUrl}
log_dir = /var/log/nova
rpc_response_timeout = 90
executor_thread_pool_size = 32
${settings.extraDefault}

[api]
auth_strategy = keystone

[api_database]
connection = mysql+pymysql://nova:NOVA_DBPASS@controller/nova_api

[database]
# The SQLAlchemy connection string to use to connect to the database.
connection = ${settings.databaseUrl}
connection_debug = 100
max_pool_size = 20
max_retries = -1
retry_interval = 5
connection_recycle_time = 3600
${settings.extraDatabase}

[glance]
api_servers = http://controller:9292

[keystone_authtoken]
www_authenticate_uri = http://controller:5000/
auth_url = http://controller:5000/
memcached_servers = controller:11211
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = nova
password = NOVA_PASS

[oslo_concurrency]
lock_path = /var/lib/nova/tmp

[oslo_messaging_notifications]
driver = messagingv2
topics = notifications,audit

[oslo_messaging_rabbit]
${settings.quorumLine}
amqp_durable_queues = true
amqp_auto_delete = false
rabbit_ha_queues = false
rabbit_qos_prefetch_count = 10
heartbeat_timeout_threshold = 30
heartbeat_rate = 3
rabbit_retry_interval = 2
rabbit_retry_backoff = 3
rabbit_interval_max = 20
kombu_reconnect_delay = 0.5
kombu_failover_strategy = shuffle
kombu_missing_consumer_retry_timeout = 30
rabbit_transient_queues_ttl = 600
rabbit_quorum_delivery_limit = 7
ssl = false

[placement]
region_name = RegionOne
project_domain_name = Default
project_name = service
auth_type = password
user_domain_name = Default
auth_url = http://controller:5000/v3
username = placement
password = PLACEMENT_PASS

[vnc]
enabled = true
server_listen = $my_ip
`;
}
