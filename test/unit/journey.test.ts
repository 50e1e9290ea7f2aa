/**
 * The demo's journey view is drawn from spans: each boot's trace, from the HTTP request
 * through the scheduler and the compute to the network, in one tree.
 */
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { runDemo } from '../../src/cli/demo.js';
import { resolveServiceConfig } from '../../src/services/config.js';

describe('demo journey from spans', () => {
  it('shows every boot as one trace: POST → scheduler → compute → network', async () => {
    let text = '';
    const out = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString('utf8');
        done();
      },
    });
    const config = resolveServiceConfig({ api: { listen: '127.0.0.1', port: 0 }, fakeDriver: { spawnTimeMs: 10 }, logLevel: 'silent' });
    await runDemo({ config, servers: 2, out });
    const journeys = text.split(/\n(?=demo-\d \(req-)/).slice(1);
    expect(journeys).toHaveLength(2);
    for (const journey of journeys) {
      expect(journey).toMatch(/^demo-\d \(req-[0-9a-f-]{36}, trace [0-9a-f]{32}\):/);
      // A call is one CLIENT span (its publish an event on it, not drawn): no send line of its own.
      const order = ['POST /v2.1/servers', 'send nova:scheduler (run_instance)', 'process nova:scheduler (run_instance)', 'process nova:compute.compute', 'call allocate_for_instance', 'process nova:network (allocate_for_instance)'];
      const positions = order.map((fragment) => journey.indexOf(fragment));
      expect(positions.every((position) => position >= 0), `${order.join(', ')} in\n${journey}`).toBe(true);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
      // Deeper hops are indented further: the tree follows the parent links.
      const indent = (fragment: string) => /^\s*\+\s*\d+ms\s+\d+ms(\s*)/.exec(journey.split('\n').find((line) => line.includes(fragment))!)![1]!.length;
      expect(indent('process nova:network')).toBeGreaterThan(indent('process nova:compute'));
      expect(indent('process nova:network')).toBeGreaterThan(indent('call allocate_for_instance'));
      expect(journey).not.toMatch(/published/);
      expect(indent('process nova:compute')).toBeGreaterThan(indent('process nova:scheduler'));
    }
  });
});
