/**
 * One password-masking function (redactUrlPasswords) for every log line and message:
 * failover lists, URL-encoded passwords, TLS schemes, database URLs and credentials in
 * a query string.
 */
import { describe, expect, it } from 'vitest';
import { redactUrlPasswords } from '../../src/log/logger.js';

describe('redactUrlPasswords', () => {
  it.each([
    ['rabbit://u:p1@h1,u:p2@h2', 'rabbit://u:***@h1,u:***@h2'],
    ['rabbit://nova:s3cret@mq1:5672,nova:s3cret@mq2:5672,nova:s3cret@mq3:5672/nova', 'rabbit://nova:***@mq1:5672,nova:***@mq2:5672,nova:***@mq3:5672/nova'],
    ['rabbit://mq1:5672,nova:s3cret@mq2:5672/', 'rabbit://mq1:5672,nova:***@mq2:5672/'],
    ['rabbit://nova:p%40ss%2Fw0rd@mq1/', 'rabbit://nova:***@mq1/'],
    ['rabbits://nova:tls-secret@mq1:5671/?ssl_ca_file=/etc/ca.pem', 'rabbits://nova:***@mq1:5671/?ssl_ca_file=/etc/ca.pem'],
    ['rabbit://nova:pa:ss@mq1/', 'rabbit://nova:***@mq1/'],
    ['rabbit://nova:p@ss@mq1/', 'rabbit://nova:***@mq1/'],
    ['mysql://nova:dbpass@db1:3306/nova?charset=utf8', 'mysql://nova:***@db1:3306/nova?charset=utf8'],
    ['mysql+pymysql://root:r00t@127.0.0.1/nova', 'mysql+pymysql://root:***@127.0.0.1/nova'],
    ['mysql://db1/nova?user=nova&password=hunter2&charset=utf8', 'mysql://db1/nova?user=nova&password=***&charset=utf8'],
    ['rabbit://mq1/?ssl_key_password=k3y&heartbeat_timeout_threshold=30', 'rabbit://mq1/?ssl_key_password=***&heartbeat_timeout_threshold=30'],
    ['http://api/?auth_token=abc123', 'http://api/?auth_token=***'],
  ])('%s', (input, expected) => {
    expect(redactUrlPasswords(input)).toBe(expected);
  });

  it('masks every URL in a longer message and keeps user names, hosts and the rest', () => {
    const message = 'cannot connect to rabbit://a:pw1@h1,b:pw2@h2/ (last: mysql://c:pw3@db/nova refused)';
    const masked = redactUrlPasswords(message);
    for (const secret of ['pw1', 'pw2', 'pw3']) expect(masked).not.toContain(secret);
    expect(masked).toBe('cannot connect to rabbit://a:***@h1,b:***@h2/ (last: mysql://c:***@db/nova refused)');
  });

  it('leaves text without credentials alone', () => {
    for (const text of ['memory://', 'rabbit://mq1:5672/', 'sqlite:////var/lib/nova.db', 'rabbit://guest@mq1/', 'time 10:30, user@example.org']) {
      expect(redactUrlPasswords(text)).toBe(text);
    }
  });
});
