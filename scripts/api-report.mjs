#!/usr/bin/env node
/**
 * The public API report: builds the declarations of src/ as `npm run build` does
 * (tsconfig.build.json, `@internal` stripped) into a temporary folder, and runs API
 * Extractor on each entry point of package.json's `exports`:
 *
 *   novarpc       dist/index.d.ts      etc/novarpc.api.md
 *   novarpc/rpc   dist/rpc/index.d.ts  etc/novarpc-rpc.api.md
 *   novarpc/db    dist/db/index.d.ts   etc/novarpc-db.api.md
 *
 * `node scripts/api-report.mjs` checks the reports and exits 1, naming the entry points
 * whose surface changed (test/package/api-report.test.ts runs it); `--update`
 * (`npm run api:update`) rewrites them. Commit the updated reports with the change
 * that made them differ, so the surface changes only on purpose.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { Extractor, ExtractorConfig } = require('@microsoft/api-extractor');

export const ENTRY_POINTS = [
  { name: 'novarpc', declarations: 'index.d.ts', report: 'novarpc' },
  { name: 'novarpc/rpc', declarations: 'rpc/index.d.ts', report: 'novarpc-rpc' },
  { name: 'novarpc/db', declarations: 'db/index.d.ts', report: 'novarpc-db' },
];

const update = process.argv.includes('--update');
const work = mkdtempSync(join(tmpdir(), 'novarpc-api-'));
const declarations = join(work, 'dts');
try {
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--emitDeclarationOnly', '--declarationMap', 'false', '--outDir', declarations], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  const changed = [];
  for (const entry of ENTRY_POINTS) {
    const config = ExtractorConfig.prepare({
      configObject: {
        projectFolder: ROOT,
        mainEntryPointFilePath: join(declarations, entry.declarations),
        compiler: {
          overrideTsconfig: {
            compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2023'], types: ['node'], skipLibCheck: true, strict: true },
            files: [join(declarations, entry.declarations)],
          },
        },
        apiReport: { enabled: true, reportFolder: join(ROOT, 'etc'), reportTempFolder: join(work, 'report'), reportFileName: entry.report },
        docModel: { enabled: false },
        dtsRollup: { enabled: false },
        tsdocMetadata: { enabled: false },
        messages: {
          compilerMessageReporting: { default: { logLevel: 'warning' } },
          extractorMessageReporting: {
            default: { logLevel: 'warning' },
            // Release tags are not used: what index.ts exports is public, `@internal` is stripped.
            'ae-missing-release-tag': { logLevel: 'none' },
            'ae-internal-missing-underscore': { logLevel: 'none' },
            // A type a public signature uses but the entry point does not export shows in the report.
            'ae-forgotten-export': { logLevel: 'none', addToApiReportFile: true },
            'ae-unresolved-link': { logLevel: 'none' },
            'ae-undocumented': { logLevel: 'none' },
          },
          tsdocMessageReporting: { default: { logLevel: 'none' } },
        },
      },
      configObjectFullPath: join(ROOT, 'api-extractor.json'),
      packageJsonFullPath: join(ROOT, 'package.json'),
    });
    const result = Extractor.invoke(config, { localBuild: update, showVerboseMessages: false, messageCallback: quietDiffMessage });
    if (result.apiReportChanged && !update) changed.push(`${entry.name} (etc/${entry.report}.api.md)`);
    else if (!result.succeeded && !update) changed.push(`${entry.name}: ${result.errorCount} errors`);
  }
  if (changed.length > 0) {
    console.error(
      `The public API differs from its report for: ${changed.join(', ')}.\n` +
        'If the change is deliberate, run `npm run api:update` and commit the updated etc/*.api.md; otherwise keep the export internal.',
    );
    process.exitCode = 1;
  } else {
    console.log(update ? 'API reports updated in etc/.' : 'The public API matches etc/*.api.md.');
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** API Extractor's own "copy this file" advice names a temp folder that is gone by then: the summary above says what to do. */
function quietDiffMessage(message) {
  if (message.messageId === 'console-api-report-copied' || message.messageId === 'console-api-report-changed') message.handled = true;
}
