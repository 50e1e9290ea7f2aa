/**
 * The server action table is type-checked row by row: a handler or task states written
 * for another body than the row's schema does not compile. The `@ts-expect-error` lines
 * below are checked by `npm run typecheck` (tsc fails on an expected error that does not
 * occur); the tests check what the table does with a body at run time.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { actionTable, type ActionCall } from '../../src/services/api/action-kit.js';
import { ApiFault } from '../../src/services/api/faults.js';
import { changePassword } from '../../src/services/api/lifecycle-actions.js';
import { actionBodies } from '../../src/services/api/schemas.js';
import { SERVER_ACTIONS } from '../../src/services/api/server-actions.js';

const named = z.strictObject({ name: z.string() });

describe('the server action table', () => {
  it('rejects, at typecheck, a row whose handler or states do not fit its schema', () => {
    const table = actionTable({
      ok: { schema: named, lockChecked: false, run: async (_call, args) => ({ status: 202, body: args.name.toUpperCase() }) },
      // A handler reading a field its body does not have.
      // @ts-expect-error 'missing' does not exist on { name: string }
      readsMissing: { schema: named, lockChecked: false, run: async (_call, args) => ({ status: 202, body: args.missing }) },
      // A handler written for another action's body (changePassword wants adminPass).
      // @ts-expect-error changePassword's handler does not take { name: string }
      wrongHandler: { schema: named, lockChecked: false, run: changePassword },
      // Task states computed from a field the body does not have.
      // @ts-expect-error 'type' does not exist on { name: string }
      wrongStates: { schema: named, lockChecked: true, states: (args) => ({ action: args.type, vmStates: [], task: 'x' }), run: async () => ({ status: 202 }) },
      // A row without its handler.
      // @ts-expect-error 'run' is missing
      noHandler: { schema: named, lockChecked: false },
    });
    expect([...table.keys()]).toEqual(['ok', 'readsMissing', 'wrongHandler', 'wrongStates', 'noHandler']);
    // The right handler for its body compiles.
    actionTable({ changePassword: { schema: actionBodies.changePassword, lockChecked: true, run: changePassword } });
  });

  it('binds each row to its schema: the body is parsed before the handler sees it, with a 400 naming the field', async () => {
    const seen: unknown[] = [];
    const table = actionTable({
      rename: { schema: named, lockChecked: false, states: (args) => ({ action: `rename-${args.name}`, vmStates: ['active'], task: 'renaming' }), run: async (_call, args) => (seen.push(args), { status: 202 }) },
    });
    const row = table.get('rename')!;
    const parsed = row.parse({ name: 'vm' }, 'rename');
    expect(parsed.states).toEqual({ action: 'rename-vm', vmStates: ['active'], task: 'renaming' });
    expect(await parsed.run({} as ActionCall)).toEqual({ status: 202 });
    expect(seen).toEqual([{ name: 'vm' }]);
    expect(() => row.parse({ name: 7 }, 'rename')).toThrow(ApiFault);
    expect(() => row.parse({ name: 7 }, 'rename')).toThrow(/rename\.name/);
  });

  it('holds every server action once, each lifecycle action with the vm_states it starts from and the task it sets', () => {
    expect([...SERVER_ACTIONS.keys()].sort()).toEqual(
      [
        'addFloatingIp', 'addSecurityGroup', 'changePassword', 'confirmResize', 'createImage', 'evacuate', 'lock', 'os-getConsoleOutput',
        'os-migrateLive', 'os-resetState', 'os-start', 'os-stop', 'reboot', 'rebuild', 'removeFloatingIp', 'removeSecurityGroup',
        'resize', 'revertResize', 'unlock',
      ].sort(),
    );
    expect(SERVER_ACTIONS.get('os-stop')!.parse(null, 'os-stop').states).toEqual({ action: 'stop', vmStates: ['active', 'error'], task: 'powering-off' });
    expect(SERVER_ACTIONS.get('reboot')!.parse({ type: 'hard' }, 'reboot').states).toMatchObject({ task: 'rebooting_hard', fromTask: [null, 'rebooting'] });
    expect(SERVER_ACTIONS.get('lock')!.parse(null, 'lock').states).toBeUndefined();
  });
});
