import { describe, expect, it } from 'vitest';
import { InvalidArguments, MessagingTimeout, NoSuchMethod, RemoteError, UnsupportedVersion, type Endpoint } from '../../src/rpc/index.js';
import { resolveMethod } from '../../src/rpc/dispatcher.js';
import { isCompatible } from '../../src/rpc/version.js';
import { fromWireFailure, toWireFailure } from '../../src/rpc/wire/failure.js';

describe('failure JSON (docs/wire-format.md §4.3)', () => {
  it('serialises errors with class, module, message, tb, args, kwargs; tracebacks only on request', () => {
    const failure = toWireFailure(new TypeError('bad type'), false);
    expect(failure).toEqual({ class: 'TypeError', module: 'builtins', message: 'bad type', tb: [], args: ['bad type'], kwargs: {} });
    expect(toWireFailure(new Error('x'), true).tb.length).toBeGreaterThan(0);
    expect(toWireFailure(new NoSuchMethod('m'), false)).toMatchObject({ class: 'NoSuchMethod', module: 'oslo_messaging.rpc.dispatcher', message: 'Endpoint does not support RPC method m' });
    expect(toWireFailure('a string', false)).toMatchObject({ class: 'Exception', module: 'builtins', message: 'a string' });
  });

  it('passes a remote error on with its original class, as oslo strips _Remote', () => {
    const remote = new RemoteError('InstanceNotFound', 'Instance 1 could not be found.', [], 'nova.exception', ['x'], { instance_id: 1 });
    expect(toWireFailure(remote, false)).toMatchObject({ class: 'InstanceNotFound', module: 'nova.exception', kwargs: { instance_id: 1 } });
  });

  it('rebuilds Python builtins by name, framework errors as classes, the rest as RemoteError', () => {
    const valueError = fromWireFailure(JSON.stringify({ class: 'ValueError', module: 'builtins', message: 'boom', tb: ['Traceback\n'], args: ['boom'], kwargs: {} }));
    expect(valueError).toMatchObject({ name: 'ValueError', message: 'boom' });
    expect(valueError).toBeInstanceOf(RemoteError);
    const unsupported = fromWireFailure(JSON.stringify({ class: 'UnsupportedVersion', module: 'oslo_messaging.rpc.dispatcher', message: 'Endpoint does not support RPC version 2.0. Attempted method: add' }));
    expect(unsupported).toBeInstanceOf(UnsupportedVersion);
    expect(unsupported).toMatchObject({ version: '2.0', method: 'add' });
    const custom = fromWireFailure(JSON.stringify({ class: 'InteropError', module: 'interop_errors', message: 'nope', tb: [], args: [], kwargs: {} }));
    expect(custom).toBeInstanceOf(RemoteError);
    expect(custom).toMatchObject({ excType: 'InteropError', value: 'nope', excModule: 'interop_errors' });
    expect(fromWireFailure('not json')).toMatchObject({ excType: 'UnknownRemoteError' });
  });
});

describe('versions and dispatch (docs/wire-format.md §5.1, §5.2)', () => {
  it('compatible(implemented, requested) follows oslo', () => {
    expect(isCompatible('1.3', '1.0')).toBe(true);
    expect(isCompatible('1.3', '1.3')).toBe(true);
    expect(isCompatible('1.3', '1.4')).toBe(false);
    expect(isCompatible('1.3', '2.0')).toBe(false);
    expect(isCompatible('1.3.2', '1.3.1')).toBe(true);
    expect(isCompatible('1.3', '1.3.1')).toBe(false);
    expect(isCompatible(null, '9.9')).toBe(true);
  });

  const endpoints: Endpoint[] = [
    { target: { version: '1.3' }, methods: { add: () => 1 } },
    { target: { version: '2.1', namespace: 'ns' }, methods: { add: () => 2, sub: () => 3 } },
  ];

  it('picks the first compatible endpoint that has the method', () => {
    expect(resolveMethod(endpoints, null, '1.1', 'add').handler({} as never, {})).toBe(1);
    expect(resolveMethod(endpoints, 'ns', '2.0', 'sub').handler({} as never, {})).toBe(3);
  });

  it('NoSuchMethod when a compatible endpoint lacks it; UnsupportedVersion otherwise', () => {
    expect(() => resolveMethod(endpoints, null, '1.0', 'sub')).toThrow(NoSuchMethod);
    expect(() => resolveMethod(endpoints, null, '1.0', '_private')).toThrow(NoSuchMethod);
    expect(() => resolveMethod(endpoints, null, '1.0', 'toString')).toThrow(NoSuchMethod);
    expect(() => resolveMethod(endpoints, null, '1.4', 'add')).toThrow(UnsupportedVersion);
    expect(() => resolveMethod(endpoints, 'other', '1.0', 'add')).toThrow(UnsupportedVersion);
  });

  it('errors carry stable codes', () => {
    expect(new MessagingTimeout('x').code).toBe('MESSAGING_TIMEOUT');
    expect(new InvalidArguments('x').code).toBe('INVALID_ARGUMENTS');
  });
});
