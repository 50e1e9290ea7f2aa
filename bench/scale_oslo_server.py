"""One oslo.messaging RPC server, as a Nova service holds it: an RPC server on
<topic> / <topic>.<server> / its fanout, plus an RPC client that has made one call
(so the reply queue exists), with the options given in a config file.

Usage: scale_oslo_server.py TRANSPORT_URL CONFIG_FILE TOPIC SERVER
Prints READY once it has answered its own call; stops when stdin closes.
"""
import sys

from oslo_config import cfg
import oslo_messaging as messaging


class Endpoint:
    def ping(self, ctxt, **kwargs):
        return 'pong'


def main():
    url, config_file, topic, server_name = sys.argv[1:5]
    conf = cfg.CONF
    conf(['--config-file', config_file], project='scale-bench')
    transport = messaging.get_rpc_transport(conf, url=url)
    target = messaging.Target(topic=topic, server=server_name)
    server = messaging.get_rpc_server(transport, target, [Endpoint()], executor='threading')
    server.start()
    client = messaging.RPCClient(transport, messaging.Target(topic=topic, server=server_name), timeout=30)
    client.call({}, 'ping')
    print('READY', flush=True)
    sys.stdin.read()
    server.stop()
    server.wait()
    transport.cleanup()


if __name__ == '__main__':
    main()
