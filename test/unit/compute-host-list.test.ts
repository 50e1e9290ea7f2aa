/**
 * `[DEFAULT] compute_hosts`: the host list of a process running many compute services,
 * with ranges, read from the INI file, a flag or the environment, and rejected with a
 * message naming the bad item.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/cli/config.js';
import { expandHostList, MAX_COMPUTE_HOSTS } from '../../src/services/compute/host-list.js';

describe('compute_hosts', () => {
  it('expands ranges, keeping the zero padding of the first number', () => {
    expect(expandHostList(['c[1-3]'])).toEqual(['c1', 'c2', 'c3']);
    expect(expandHostList(['cell1-c[008-011].rack2'])).toEqual(['cell1-c008.rack2', 'cell1-c009.rack2', 'cell1-c010.rack2', 'cell1-c011.rack2']);
    expect(expandHostList(['a', 'b[9-10]'])).toEqual(['a', 'b9', 'b10']);
  });

  it('rejects a reversed range, a duplicate, a bad name and a list too long', () => {
    expect(() => expandHostList(['c[5-1]'])).toThrow(/"c\[5-1\]" ends before it starts/);
    expect(() => expandHostList(['c1', 'c[1-2]'])).toThrow(/"c1" is named twice/);
    expect(() => expandHostList(['bad host'])).toThrow(/"bad host" is not a host name/);
    expect(() => expandHostList(['c#1'])).toThrow(/not a host name/);
    expect(() => expandHostList([`c[1-${MAX_COMPUTE_HOSTS + 1}]`])).toThrow(/more than/);
  });

  it('comes from the INI file, the flag or the environment; a bad value is a config problem', () => {
    const fromIni = loadConfig({ iniText: '[DEFAULT]\ncompute_hosts = c[01-03], extra\n', runsApi: false }).config;
    expect(fromIni.computeHosts).toEqual(['c01', 'c02', 'c03', 'extra']);
    const fromFlag = loadConfig({ flags: { 'compute-hosts': 'x[1-2]' }, runsApi: false }).config;
    expect(fromFlag.computeHosts).toEqual(['x1', 'x2']);
    const fromEnv = loadConfig({ env: { NOVARPC_COMPUTE_HOSTS: 'e1,e2' }, runsApi: false }).config;
    expect(fromEnv.computeHosts).toEqual(['e1', 'e2']);
    expect(loadConfig({ runsApi: false }).config.computeHosts).toEqual([]);
    expect(() => loadConfig({ flags: { 'compute-hosts': 'c[3-1]' }, runsApi: false })).toThrow(ConfigError);
    try {
      loadConfig({ flags: { 'compute-hosts': 'c[3-1]' }, runsApi: false });
    } catch (error) {
      expect(String((error as Error).message)).toMatch(/compute_hosts: range "c\[3-1\]" ends before it starts/);
    }
  });
});
