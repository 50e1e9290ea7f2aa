/** Pure helpers of the db layer: binding redaction, IPv4 layout, service liveness, row reading. */
import { describe, expect, it } from 'vitest';
import { isServiceUp } from '../../src/db/index.js';
import { layoutIpv4Network } from '../../src/db/ipv4.js';
import { REDACTED, redactBindings } from '../../src/db/sql-redaction.js';
import { toDate } from '../../src/db/rows.js';

describe('redactBindings', () => {
  it('hides values compared with or assigned to secret-looking columns', () => {
    expect(
      redactBindings('update `users` set `password` = ?, `name` = ? where `auth_token` = ? and `id` in (?, ?)', [
        'pw',
        'bob',
        'tok',
        1,
        2,
      ]),
    ).toEqual([REDACTED, 'bob', REDACTED, 1, 2]);
    expect(redactBindings('select * from t where `t`.`admin_pass` in (?, ?) and x = ?', ['a', 'b', 'c'])).toEqual([
      REDACTED,
      REDACTED,
      'c',
    ]);
  });

  it('hides inserted values by column, row by row', () => {
    expect(
      redactBindings('insert into `t` (`name`, `adminPass`) values (?, ?), (?, ?)', ['a', 's1', 'b', 's2']),
    ).toEqual(['a', REDACTED, 'b', REDACTED]);
  });

  it('hides the value of a key/value row whose key is secret, and only that row', () => {
    const sql = 'insert into `instance_metadata` (`instance_uuid`, `key`, `value`) values (?, ?, ?), (?, ?, ?)';
    expect(redactBindings(sql, ['u', 'admin_pass', 'secret', 'u', 'role', 'web'])).toEqual([
      'u',
      'admin_pass',
      REDACTED,
      'u',
      'role',
      'web',
    ]);
    const unionSql =
      'insert into `m` (`key`, `value`) select ? as `key`, ? as `value` union all select ? as `key`, ? as `value`';
    expect(redactBindings(unionSql, ['password', 'x', 'color', 'blue'])).toEqual(['password', REDACTED, 'color', 'blue']);
    expect(redactBindings('update `m` set `value` = ? where `id` = ? and `key` = ?', ['s', 1, 'auth_token'])).toEqual([
      REDACTED,
      1,
      'auth_token',
    ]);
  });

  it('ignores question marks inside string literals and shortens long strings', () => {
    expect(redactBindings("select '?' as q, ? as password", ['pw'])).toEqual([REDACTED]);
    const [long] = redactBindings('select ? as blob', ['x'.repeat(1000)]) as string[];
    expect(long!.length).toBeLessThan(300);
    expect(long).toContain('1000 chars');
  });
});

describe('layoutIpv4Network', () => {
  it('leaves the network, gateway and broadcast addresses out', () => {
    const layout = layoutIpv4Network('10.0.0.0/24');
    expect(layout).toMatchObject({ netmask: '255.255.255.0', gateway: '10.0.0.1', broadcast: '10.0.0.255' });
    expect(layout.assignable).toHaveLength(253);
    expect(layout.assignable[0]).toBe('10.0.0.2');
    expect(layout.assignable.at(-1)).toBe('10.0.0.254');
    expect(layoutIpv4Network('192.168.7.9/30').assignable).toEqual(['192.168.7.10']);
    expect(() => layoutIpv4Network('10.0.0.0/31')).toThrow(/CIDR/);
    expect(() => layoutIpv4Network('10.0.300.0/24')).toThrow(/IPv4/);
  });
});

describe('isServiceUp', () => {
  const created_at = new Date('2024-01-01T00:00:00Z');
  it('uses the last heartbeat, or creation before the first one, against service_down_time', () => {
    const at = (seconds: number) => new Date(created_at.getTime() + seconds * 1000);
    expect(isServiceUp({ created_at, updated_at: null }, at(60))).toBe(true);
    expect(isServiceUp({ created_at, updated_at: null }, at(61))).toBe(false);
    expect(isServiceUp({ created_at, updated_at: at(100) }, at(130), 30)).toBe(true);
    expect(isServiceUp({ created_at, updated_at: at(100) }, at(131), 30)).toBe(false);
    // A clock behind the heartbeat counts the distance, as Nova did with abs().
    expect(isServiceUp({ created_at, updated_at: at(100) }, at(30))).toBe(false);
  });
});

describe('toDate', () => {
  it('reads what either driver returns as the same instant', () => {
    const instant = new Date('2024-05-01T12:00:00.123Z');
    expect(toDate(instant.getTime())).toEqual(instant);
    expect(toDate('2024-05-01 12:00:00.123')).toEqual(instant);
    expect(toDate(instant)).toBe(instant);
    expect(toDate(null)).toBeNull();
  });
});
