/**
 * `--log-format pretty|json`: human lines from pino-pretty or one JSON object per line,
 * pretty by default on a terminal and JSON otherwise, with the same redaction in both.
 * The process cases run `novarpc all` (memory bus, embedded SQLite) as a user would,
 * through a pipe and, for the terminal default, through a pseudo-terminal (`script`).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, defaultLogFormat, type LogFormat } from '../../src/log/logger.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PRETTY_LINE = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] (\x1b\[\d+m)?INFO(\x1b\[\d+m)?: /;
const SECRETS = { password: 'Hunter2-pw', admin_pass: 'Admin-Pass-7', adminPass: 'Admin-Pass-8', auth_token: 'Tok-123' };

/** Collects what a logger writes. */
class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

function logOnce(format: LogFormat): string {
  const capture = new Capture();
  const logger = createLogger({ format, destination: capture, base: { service: 'api' } });
  logger.info({ ...SECRETS, context: { auth_token: 'Tok-456' }, req: { headers: { 'x-auth-token': 'Tok-789' } }, instance_id: 'i-1' }, 'server created');
  return capture.text;
}

/** Runs `novarpc all --api-listen-port 0 <args>` until its API answers, stops it with SIGTERM, returns its output. */
function runAll(args: string[], viaTerminal = false): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const argv = ['--import', 'tsx', 'src/cli/bin.ts', 'all', '--host', 'log-format-host', '--api-listen', '127.0.0.1', '--api-listen-port', '0', ...args];
  const child = viaTerminal
    ? spawn('script', ['-qefc', [process.execPath, ...argv].join(' '), '/dev/null'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let stopping = false;
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    const listening = stdout.split('\n').find((line) => line.includes('Compute API listening'));
    const url = listening && /http:\/\/127\.0\.0\.1:\d+\/v2\.1/.exec(listening)?.[0];
    if (!url || stopping) return;
    stopping = true;
    // Once the API has answered, the process is past start-up and handles SIGTERM.
    void fetch(url).catch(() => undefined).then(() => child.kill('SIGTERM'));
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`novarpc all did not start: ${stdout}\n${stderr}`));
    }, 50_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      done({ stdout, stderr, code });
    });
  });
}

const linesOf = (text: string) => text.split(/\r?\n/).filter((line) => line.trim() !== '');
const isJson = (line: string) => {
  try {
    return typeof JSON.parse(line) === 'object';
  } catch {
    return false;
  }
};

describe('log formats', () => {
  it('pretty is one human line per entry, json one parseable object; both redact the same secrets', () => {
    const pretty = logOnce('pretty');
    expect(linesOf(pretty)).toHaveLength(1);
    expect(pretty).toMatch(PRETTY_LINE);
    expect(pretty).toContain('server created');
    expect(pretty).toContain('"instance_id":"i-1"');
    expect(isJson(pretty.trim())).toBe(false);

    const json = logOnce('json');
    const entry = JSON.parse(json);
    expect(entry).toMatchObject({ msg: 'server created', level: 30, instance_id: 'i-1', password: '[redacted]', adminPass: '[redacted]' });
    for (const text of [pretty, json]) {
      for (const secret of [...Object.values(SECRETS), 'Tok-456', 'Tok-789']) expect(text).not.toContain(secret);
      expect(text.match(/\[redacted\]/g)?.length).toBe(6);
    }
  });

  it('the default is pretty for a terminal, json for anything else', () => {
    expect(defaultLogFormat({ isTTY: true })).toBe('pretty');
    expect(defaultLogFormat({ isTTY: false })).toBe('json');
    expect(defaultLogFormat({})).toBe('json');
  });

  it('novarpc all --log-format pretty writes human lines', async () => {
    const { stdout, code } = await runAll(['--log-format', 'pretty']);
    expect(code).toBe(0);
    const lines = linesOf(stdout);
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.find((line) => line.includes('starting'))).toMatch(PRETTY_LINE);
    expect(lines.filter(isJson)).toEqual([]);
    expect(lines.at(-1), 'no line lost at exit').toMatch(/INFO: stopped cleanly$/);
  }, 60_000);

  it('novarpc all --log-format json, and with no flag on a pipe, writes JSON lines', async () => {
    for (const args of [['--log-format', 'json'], []]) {
      const { stdout, code } = await runAll(args);
      expect(code).toBe(0);
      const entries = linesOf(stdout).map((line) => JSON.parse(line));
      expect(entries.find((entry) => entry.msg === 'starting')).toMatchObject({ level: 30, host: 'log-format-host' });
      expect(entries.at(-1)).toMatchObject({ msg: 'stopped cleanly' });
    }
  }, 90_000);

  it('novarpc all with no flag on a terminal writes pretty lines', async () => {
    const { stdout } = await runAll([], true);
    const starting = linesOf(stdout).find((line) => line.includes('starting'));
    expect(starting).toMatch(PRETTY_LINE);
    expect(linesOf(stdout).filter(isJson)).toEqual([]);
  }, 60_000);

  it('an unknown --log-format is refused', async () => {
    const { stderr, code } = await runAll(['--log-format', 'xml']);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/--log-format <format>' argument 'xml' is invalid\. Allowed choices are pretty, json/);
  }, 60_000);
});
