/**
 * `[DEFAULT] compute_hosts`: the compute hosts one process runs. Items are host names
 * or ranges written `prefix[first-last]suffix` (`cell1-c[001-250]` is cell1-c001 ...
 * cell1-c250; the digits of `first` set the zero padding).
 */

/** Most hosts a list may name (a typo like `c[1-1000000]` should not start a million services). */
export const MAX_COMPUTE_HOSTS = 10_000;

const RANGE = /^(.*)\[(\d+)-(\d+)\](.*)$/;

/** Expands ranges and checks the names; throws an Error saying which item is wrong. */
export function expandHostList(items: readonly string[]): string[] {
  const hosts: string[] = [];
  for (const item of items) {
    const range = RANGE.exec(item);
    if (!range) {
      checkName(item, item);
      hosts.push(item);
      continue;
    }
    const [, prefix, firstText, lastText, suffix] = range as unknown as [string, string, string, string, string];
    const first = Number(firstText);
    const last = Number(lastText);
    if (last < first) throw new Error(`compute_hosts: range "${item}" ends before it starts`);
    if (hosts.length + last - first + 1 > MAX_COMPUTE_HOSTS) throw new Error(`compute_hosts: more than ${MAX_COMPUTE_HOSTS} hosts`);
    const width = firstText.startsWith('0') ? firstText.length : 0;
    for (let n = first; n <= last; n++) {
      const host = `${prefix}${String(n).padStart(width, '0')}${suffix}`;
      checkName(host, item);
      hosts.push(host);
    }
  }
  const seen = new Set<string>();
  for (const host of hosts) {
    if (seen.has(host)) throw new Error(`compute_hosts: host "${host}" is named twice`);
    seen.add(host);
  }
  if (hosts.length > MAX_COMPUTE_HOSTS) throw new Error(`compute_hosts: more than ${MAX_COMPUTE_HOSTS} hosts`);
  return hosts;
}

/** Host names become queue names (`compute.<host>`): no spaces, brackets or `#`/`*`. */
function checkName(host: string, item: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]*$/.test(host)) {
    throw new Error(`compute_hosts: "${item}" is not a host name or a range like c[001-250] (letters, digits, . _ : - only)`);
  }
}
