/**
 * Reads INI text the way oslo.config reads nova.conf: `[section]` headers, `key = value`
 * (or `key: value`), comments only on lines of their own (`#` or `;` first), so a value
 * may hold `#` and `;` (passwords do); indented lines continue the value before them; a
 * key repeated in a section gives several values (oslo's MultiStrOpt). Keys before any
 * section belong to `[DEFAULT]`.
 */

/** One `key = value` of the file. */
export interface IniEntry {
  section: string;
  key: string;
  value: string;
  /** 1-based line of the key, for messages. */
  line: number;
}

/** The entries of a file, in order, and the lines that are none of the above. */
export interface ParsedIni {
  entries: IniEntry[];
  /** "line 7: ..." for each line that is not a section, an option, a comment or blank. */
  errors: string[];
}

/** Parses nova.conf-style text. */
export function parseNovaConf(text: string): ParsedIni {
  const entries: IniEntry[] = [];
  const errors: string[] = [];
  let section = 'DEFAULT';
  let last: IniEntry | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (/^\s*([#;]|$)/.test(raw)) return;
    if (/^\s/.test(raw) && last) {
      last.value = `${last.value}\n${raw.trim()}`;
      return;
    }
    const header = /^\[([^\]]+)\]\s*$/.exec(raw);
    if (header) {
      section = header[1]!.trim();
      last = undefined;
      return;
    }
    const option = /^([^=:\s][^=:]*?)\s*[=:]\s*(.*?)\s*$/.exec(raw);
    if (!option) {
      errors.push(`line ${line}: "${raw.trim().slice(0, 60)}" is neither [section] nor key = value`);
      last = undefined;
      return;
    }
    last = { section, key: option[1]!, value: unquote(option[2]!), line };
    entries.push(last);
  });
  return { entries, errors };
}

/** oslo.config drops one pair of matching quotes around a whole value. */
function unquote(value: string): string {
  const match = /^(["'])(.*)\1$/.exec(value);
  return match ? match[2]! : value;
}
