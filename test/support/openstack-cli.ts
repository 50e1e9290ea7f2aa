/**
 * Runs the installed OpenStack CLIs (`/usr/bin/openstack`, `/usr/bin/nova`) with a clean
 * environment: PATH, HOME and LANG from this process plus the given OS_* variables (never
 * the caller's own OS_*), and returns exit code, output and, for `-f json`, the parsed value.
 */
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';

/** What a CLI run printed. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, when it is JSON. */
  json: any;
}

/** The CLIs the tests drive (Debian's python3-openstackclient and python3-novaclient). */
export const OPENSTACK_CLI = '/usr/bin/openstack';
export const NOVA_CLI = '/usr/bin/nova';

/** Rejects, naming the Debian package, when a CLI is missing: a failure in CI, never a skip. */
export async function requireCli(path: string, debianPackage: string): Promise<void> {
  await access(path).catch(() => {
    throw new Error(`${path} is missing: install the Debian package ${debianPackage} (apt-get install ${debianPackage})`);
  });
}

/** Runs `binary args...` with `env` (OS_* settings) and a timeout. */
export function runCli(binary: string, args: readonly string[], env: Record<string, string>, timeoutMs = 120_000): Promise<CliResult> {
  const base: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'TMPDIR']) if (process.env[name]) base[name] = process.env[name]!;
  return new Promise((resolve) => {
    execFile(binary, [...args], { env: { ...base, ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : -1) : 0;
      let json: unknown;
      try {
        json = stdout.trim() ? JSON.parse(stdout) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ code, stdout, stderr, json });
    });
  });
}
