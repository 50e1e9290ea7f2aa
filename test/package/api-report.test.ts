/**
 * The public surface of novarpc, novarpc/rpc and novarpc/db, as `npm run build`
 * declares it (`@internal` stripped), must match the committed API reports in etc/:
 * an export added, removed or changed fails here until `npm run api:update` records it.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

describe('public API report', () => {
  it('the built declarations match etc/*.api.md', async () => {
    const outcome = await run(process.execPath, ['scripts/api-report.mjs'], { cwd: ROOT, timeout: 540_000, maxBuffer: 16 * 1024 * 1024 }).then(
      ({ stdout, stderr }) => ({ ok: true, output: `${stdout}\n${stderr}` }),
      (error: { stdout?: string; stderr?: string; message: string }) => ({ ok: false, output: `${error.message}\n${error.stdout ?? ''}\n${error.stderr ?? ''}` }),
    );
    expect(outcome.ok, outcome.output).toBe(true);
    expect(outcome.output).toContain('The public API matches etc/*.api.md.');
  }, 600_000);
});
