/** Administration of the shared broker from tests, through rabbitmqctl (read and close only). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Closes the broker connections whose client-given name contains `needle`. */
export async function closeConnections(needle: string): Promise<void> {
  const { stdout } = await run('rabbitmqctl', ['-q', '--no-table-headers', 'list_connections', 'pid', 'client_properties']);
  const pids = stdout
    .split('\n')
    .filter((line) => line.includes(needle))
    .map((line) => line.split('\t')[0]!.trim());
  if (pids.length === 0) throw new Error(`no broker connection named like ${needle}`);
  for (const pid of pids) await run('rabbitmqctl', ['close_connection', pid, 'closed by test']);
}
