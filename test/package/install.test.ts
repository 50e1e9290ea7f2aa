/**
 * novarpc installed as a user installs it: `npm pack` of a checkout without dist/ (the
 * `prepare` script must build it), `npm install <tarball>` into a fresh project, then the bin through
 * `npx`, through a symlink (as `npm link` and global installs make), the README's
 * examples run against the installed package on `memory://`, and the contract example
 * type-checked as TypeScript with `module: nodenext`.
 */
import { execFile } from 'node:child_process';
import { copyFile, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const NPM_QUIET = ['--no-audit', '--no-fund', '--loglevel=error'];

/** Runs a command; resolves with its output, rejects with its stderr on a non-zero exit. */
async function sh(command: string, args: string[], cwd: string, timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(command, args, { cwd, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } });
  } catch (error) {
    const failed = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${failed.message}\n${failed.stdout ?? ''}\n${failed.stderr ?? ''}`);
  }
}

/** The fenced block that follows `<!-- examples/<file> ...-->` in README.md. */
function readmeBlock(readme: string, file: string): string {
  const marker = readme.indexOf(`<!-- examples/${file}`);
  expect(marker, `README has no block for examples/${file}`).toBeGreaterThan(-1);
  const open = readme.indexOf('```js\n', marker) + '```js\n'.length;
  return readme.slice(open, readme.indexOf('```\n', open));
}

describe('the packed tarball, installed into a fresh project', () => {
  let dir = '';
  let app = '';
  let version = '';

  beforeAll(async () => {
    version = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).version;
    dir = await mkdtemp(join(tmpdir(), 'novarpc-install-'));
    // A checkout as a fresh clone has it: sources, no dist/. Only `prepare` can build it.
    const clone = join(dir, 'clone');
    for (const file of ['package.json', 'package-lock.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json', 'src']) {
      await cp(join(ROOT, file), join(clone, file), { recursive: true });
    }
    await symlink(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
    const packed = await sh('npm', ['pack', '--pack-destination', dir, ...NPM_QUIET], clone, 360_000);
    const tarball = join(dir, packed.stdout.trim().split('\n').pop()!);
    const listing = await sh('tar', ['tzf', tarball], dir, 30_000);
    expect(listing.stdout).toContain('package/dist/cli/bin.js');
    expect(listing.stdout).toContain('package/dist/index.d.ts');
    app = join(dir, 'app');
    await mkdir(app);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    // --ignore-scripts: better-sqlite3 would compile SQLite from source for minutes where its
    // prebuilt binaries cannot be downloaded; nothing here opens a SQLite database.
    await sh('npm', ['install', tarball, '--prefer-offline', '--ignore-scripts', ...NPM_QUIET], app, 240_000);
  }, 660_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('npx novarpc --version prints the version from package.json, and --help lists the commands', async () => {
    const shown = await sh('npx', ['--no-install', 'novarpc', '--version'], app, 30_000);
    expect(shown.stdout.trim()).toBe(version);
    const help = await sh('npx', ['--no-install', 'novarpc', '--help'], app, 30_000);
    for (const command of ['api', 'scheduler', 'compute', 'network', 'all', 'demo', 'db-sync', 'servers', 'boot']) {
      expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
  }, 60_000);

  it('--version is read from the installed package.json at run time', async () => {
    const manifestPath = join(app, 'node_modules/novarpc/package.json');
    const original = await readFile(manifestPath, 'utf8');
    try {
      await writeFile(manifestPath, JSON.stringify({ ...JSON.parse(original), version: '9.8.7-check' }));
      expect((await sh('npx', ['--no-install', 'novarpc', '--version'], app, 30_000)).stdout.trim()).toBe('9.8.7-check');
    } finally {
      await writeFile(manifestPath, original);
    }
  }, 60_000);

  it('the bin runs through a symlink elsewhere, as npm link and global installs make it', async () => {
    const bin = join(dir, 'global-bin');
    await mkdir(bin);
    await symlink(join(app, 'node_modules/novarpc/dist/cli/bin.js'), join(bin, 'novarpc'));
    const shown = await sh(join(bin, 'novarpc'), ['--version'], dir, 30_000);
    expect(shown.stdout.trim()).toBe(version);
    const help = await sh(join(bin, 'novarpc'), ['servers', '--help'], dir, 30_000);
    expect(help.stdout).toContain('Usage: novarpc servers');
  }, 60_000);

  it("the README's framework example is examples/quickstart.mjs and runs against the installed package", async () => {
    const example = await readFile(join(ROOT, 'examples/quickstart.mjs'), 'utf8');
    expect(readmeBlock(await readFile(join(ROOT, 'README.md'), 'utf8'), 'quickstart.mjs')).toBe(example);
    expect(example).not.toMatch(/['"](nova|compute)['"]/);
    await copyFile(join(ROOT, 'examples/quickstart.mjs'), join(app, 'quickstart.mjs'));
    const { stdout } = await sh(process.execPath, ['quickstart.mjs'], app, 60_000);
    expect(stdout.trim().split('\n')).toEqual([
      'add(1, 2) = 3',
      'notes: any server (from alice); every server (from alice); host1 only (from alice)',
      'notification: calculator.host1 calculator.add.end {"result":3}',
    ]);
  }, 60_000);

  it("the installed package's z builds a contract (README's examples/contract.mjs), and it type-checks as .mts with module nodenext", async () => {
    const example = await readFile(join(ROOT, 'examples/contract.mjs'), 'utf8');
    expect(readmeBlock(await readFile(join(ROOT, 'README.md'), 'utf8'), 'contract.mjs')).toBe(example);
    await copyFile(join(ROOT, 'examples/contract.mjs'), join(app, 'contract.mjs'));
    const { stdout } = await sh(process.execPath, ['contract.mjs'], app, 60_000);
    expect(stdout).toContain('add = 5 negate = -4');
    expect(stdout).toMatch(/^InvalidArguments: .*\bb\b.*expected number/m);

    await copyFile(join(ROOT, 'examples/contract.mjs'), join(app, 'contract.mts'));
    const tsconfig = {
      compilerOptions: {
        module: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true,
        typeRoots: [join(ROOT, 'node_modules/@types')], types: ['node'],
      },
      files: ['contract.mts'],
    };
    await writeFile(join(app, 'tsconfig.json'), JSON.stringify(tsconfig));
    await sh(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app, 90_000);
  }, 120_000);

  it('npx novarpc works inside the repository itself', async () => {
    const shown = await sh('npx', ['--prefer-offline', 'novarpc', '--version'], ROOT, 120_000);
    expect(shown.stdout.trim()).toBe(version);
  }, 130_000);
});
