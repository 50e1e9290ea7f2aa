/**
 * `novarpc demo --ha` as a user runs it (a child process): instance HA in the demo cloud,
 * the busiest compute killed, its servers evacuated to other hosts with the same id and
 * addresses, the HA notification finished, and each evacuation's journey shown. Plain
 * `novarpc demo` keeps its output.
 */
import { describe, expect, it } from 'vitest';
import { novarpc } from '../support/cli.js';

interface Row {
  name: string;
  status: string;
  host: string;
  ip: string;
  id: string;
}

/** The server tables the demo prints (after `Servers:`), in order. */
function serverTables(stdout: string): Row[][] {
  return stdout
    .split('\nServers:\n')
    .slice(1)
    .map((block) =>
      block
        .split('\n\n')[0]!
        .split('\n')
        .slice(2)
        .filter((line) => line.trim() !== '')
        .map((line) => {
          const [name, status, host, ip, id] = line.trim().split(/\s+/);
          return { name: name!, status: status!, host: host!, ip: ip!, id: id! };
        }),
    );
}

describe('novarpc demo --ha', () => {
  it('kills the busiest compute and shows every one of its servers evacuated, same id and IP', async () => {
    const { code, stdout, stderr } = await novarpc(['demo', '--ha', '--servers', '5'], { timeoutMs: 150_000 });
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    const killed = /\nKilling (compute\d) \(holds (\d+) of 5 servers/.exec(stdout);
    expect(killed, stdout).not.toBeNull();
    const victim = killed![1]!;
    const [before, after] = serverTables(stdout);
    expect(before).toHaveLength(5);
    expect(after).toHaveLength(5);
    const victims = before!.filter((row) => row.host === victim);
    expect(victims.length).toBe(Number(killed![2]));
    expect(victims.length).toBeGreaterThan(0);
    for (const old of victims) {
      const now = after!.find((row) => row.id === old.id)!;
      expect(now).toMatchObject({ name: old.name, status: 'ACTIVE', ip: old.ip });
      expect(now.host).not.toBe(victim);
      expect(stdout).toContain(`${old.name} ${old.id}: evacuated ${victim} → ${now.host}, ACTIVE, ${old.ip} (same addresses)`);
      expect(stdout).toMatch(new RegExp(`\\n${old.name} boot \\(req-[0-9a-f-]{36}, trace [0-9a-f]{32}\\):\\n.*POST /v2.1/servers\\n`));
      const journey = stdout.split(`\n${old.name} evacuation (req-`)[1]?.split('\n\n')[0] ?? '';
      expect(journey, stdout).toContain('POST /v2.1/servers/:id/action');
      expect(journey).toContain(`process nova:compute.${now.host} (evacuate_instance)`);
    }
    for (const untouched of before!.filter((row) => row.host !== victim)) expect(after).toContainEqual(untouched);
    expect(stdout).toMatch(new RegExp(`notification [0-9a-f-]{36} \\(COMPUTE_HOST ${victim} STOPPED\\): finished`));
    expect(stdout).toContain('EvacuateInstancesTask: Evacuated');
    expect(stdout).toContain(`Recovered ${victims.length} of ${victims.length} servers of ${victim}`);
  }, 180_000);

  it('plain demo: two computes, each boot journey from spans, the server table; no HA', async () => {
    const { code, stdout, stderr } = await novarpc(['demo', '--servers', '2'], { timeoutMs: 120_000 });
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    expect(stdout).toContain('novarpc demo: api, scheduler, network and 2 computes in one process\n');
    expect(stdout).toMatch(/\ndemo-1 \(req-[0-9a-f-]{36}, trace [0-9a-f]{32}\):\n/);
    expect(stdout).toMatch(/\ndemo-2 \(req-[0-9a-f-]{36}, trace [0-9a-f]{32}\):\n/);
    const [table] = serverTables(stdout);
    expect(table!.map((row) => [row.name, row.status])).toEqual([
      ['demo-1', 'ACTIVE'],
      ['demo-2', 'ACTIVE'],
    ]);
    expect(stdout).not.toMatch(/instance HA|Killing/);
  }, 150_000);
});
