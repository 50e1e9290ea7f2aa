/**
 * explainConnectError: one line naming the cause of a failed broker connection, from
 * the errors amqplib and the socket give, without a password.
 */
import { describe, expect, it } from 'vitest';
import { explainConnectError } from '../../src/rpc/drivers/amqp/connect-errors.js';

const HOST = { hostname: 'mq1', port: 5672, username: 'nova', password: 'pw' };
const socketError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('explainConnectError', () => {
  it.each([
    [new Error('Handshake terminated by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - Login was refused"'), /^access refused \(ACCESS_REFUSED\): .*mq1:5672.*user "nova"/],
    [new Error('Expected ConnectionOpenOk; got <ConnectionClose channel:0>'), /^virtual host "prod" refused \(NOT_ALLOWED\) by the broker at mq1:5672/],
    [socketError('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.1:5672'), /^connection refused: nothing listens on mq1:5672/],
    [socketError('ENOTFOUND', 'getaddrinfo ENOTFOUND mq1'), /^host name "mq1" could not be resolved/],
    [socketError('ETIMEDOUT', 'connect ETIMEDOUT'), /^no answer from mq1:5672 in time/],
  ])('%s', (error, expected) => {
    const line = explainConnectError(error, HOST, 'prod');
    expect(line).toMatch(expected);
    expect(line).not.toContain('\n');
    expect(line).not.toContain('pw');
  });

  it('passes other errors on as their first line, passwords masked', () => {
    expect(explainConnectError(new Error('odd failure at rabbit://nova:pw@mq1/\n    at stack'), HOST, '/')).toBe('odd failure at rabbit://nova:***@mq1/');
  });
});
