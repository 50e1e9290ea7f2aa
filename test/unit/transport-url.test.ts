import { describe, expect, it } from 'vitest';
import { getTransport, InvalidTransportUrl } from '../../src/rpc/index.js';
import { resolveOptions } from '../../src/rpc/transport-options.js';
import { parseTransportUrl } from '../../src/rpc/transport-url.js';

describe('transport URLs', () => {
  it('parses a failover list with per-host credentials, vhost and options', () => {
    const parsed = parseTransportUrl('rabbit://u1:p%40ss@h1:5673,u2:pw2@[::1]/nova%2Fvh?rabbit_quorum_queue=false&ssl=1');
    expect(parsed.hosts).toEqual([
      { hostname: 'h1', port: 5673, username: 'u1', password: 'p@ss' },
      { hostname: '::1', port: 5672, username: 'u2', password: 'pw2' },
    ]);
    expect(parsed.virtualHost).toBe('nova/vh');
    expect(parsed.query).toEqual({ rabbit_quorum_queue: 'false', ssl: '1' });
  });

  it('uses oslo defaults: guest@localhost:5672 and vhost "/"', () => {
    expect(parseTransportUrl('rabbit://').hosts).toEqual([{ hostname: 'localhost', port: 5672, username: 'guest', password: 'guest' }]);
    expect(parseTransportUrl('rabbit://h/').virtualHost).toBe('/');
    expect(parseTransportUrl('rabbit://h/%2F').virtualHost).toBe('/');
    expect(parseTransportUrl('rabbits://h').tls).toBe(true);
    expect(parseTransportUrl('kombu://h').scheme).toBe('rabbit');
    expect(parseTransportUrl('memory://').scheme).toBe('memory');
  });

  it('joins repeated query keys with commas, as oslo does', () => {
    expect(parseTransportUrl('rabbit://h/?a=1&a=2').query).toEqual({ a: '1,2' });
  });

  it('names the bad part and never shows the password', () => {
    const cases: Array<[string, RegExp]> = [
      ['amqp://u:secret@h/', /amqp:\/\/ selects the AMQP 1.0 driver/],
      ['rabbit://u:secret@h:99999/', /port "99999"/],
      ['rabbit://u:secret@h:5672,/', /empty host/],
      ['nohost', /no scheme/],
      ['rabbit://u:secret@h/%zz', /virtual host/],
      ['rabbit://u:secret@h/?rabbit_quorum_queue=maybe', /rabbit_quorum_queue="maybe".*boolean/],
      ['rabbit://u:secret@h/?rpc_conn_pool_size=0', /rpc_conn_pool_size.*>= 1/],
      ['rabbit://u:secret@h/?no_such_option=1', /unknown transport option "no_such_option"/],
      ['rabbit://u:secret@h/?rabbit_ha_queues=true&rabbit_quorum_queue=true', /cannot both be true/],
    ];
    for (const [url, message] of cases) {
      let error: unknown;
      try {
        getTransport(url);
      } catch (caught) {
        error = caught;
      }
      expect(error, url).toBeInstanceOf(InvalidTransportUrl);
      expect((error as Error).message, url).toMatch(message);
      expect((error as Error).message, url).not.toContain('secret');
    }
  });

  it('resolves options: URL query over code options over defaults, with oslo aliases', () => {
    const options = resolveOptions({ rabbit_quorum_queue: false, rpc_response_timeout: 10 }, { rpc_response_timeout: '5', rabbit_quroum_max_memory_length: '7' });
    expect(options.rabbit_quorum_queue).toBe(false);
    expect(options.rpc_response_timeout).toBe(5);
    expect(options.rabbit_quorum_max_memory_length).toBe(7);
    expect(resolveOptions().rabbit_quorum_queue).toBe(true);
    expect(resolveOptions().rabbit_transient_queues_ttl).toBe(1800);
    expect(resolveOptions().rpc_conn_pool_size).toBe(30);
    expect(resolveOptions().executor_thread_pool_size).toBe(64);
  });
});
