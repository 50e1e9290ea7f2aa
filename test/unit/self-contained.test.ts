/**
 * The repository is self-contained: whoever clones it has every document it points at.
 * No tracked file refers to a path outside the repository (the design notes and the
 * oslo spec the project was started from live outside it), every `docs/…` file named
 * exists, and every "docs/wire-format.md §N" cited in the code is a heading there.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** Tracked text files (what a clone has), without the lock file and this test. */
function trackedTextFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  return listed.filter(
    (path) => path !== 'package-lock.json' && path !== 'test/unit/self-contained.test.ts' && /\.(ts|js|mjs|py|md|json|ya?ml|ini|sh|conf)$|(^|\/)(Dockerfile|run)$/.test(path),
  );
}

function read(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}

/** References to what lies outside the repository, with the reason each is wrong. */
const OUTSIDE_REFERENCES: ReadonlyArray<{ pattern: RegExp; why: string }> = [
  { pattern: /\.\.\/shared\b/, why: 'a path outside the repository' },
  { pattern: /\/work\/shared\b/, why: 'a path outside the repository' },
  { pattern: /spec\/oslo-wire/, why: 'the outside spec: cite docs/wire-format.md' },
  { pattern: /ARCHITECTURE\.md/, why: 'the outside design notes: cite docs/architecture.md' },
  { pattern: /\bspec §/, why: 'a section of the outside spec: cite docs/wire-format.md §N' },
];

/** "docs/wire-format.md §1.2, §1.3", "wire-format §4.5", "docs/wire-format.md §2–§4": every § number cited. */
function citedSections(text: string): string[] {
  const cited: string[] = [];
  for (const match of text.matchAll(/wire-format(?:\.md)?((?:[\s,:–-]*(?:and\s+)?§\d+(?:\.\d+)*)+)/g)) {
    for (const section of match[1]!.matchAll(/§(\d+(?:\.\d+)*)/g)) cited.push(section[1]!);
  }
  return cited;
}

/** Section numbers of a document's headings: "## 4. Calls" → "4", "### 4.2 Replies" → "4.2". */
function headingNumbers(markdown: string): Set<string> {
  const numbers = new Set<string>();
  for (const match of markdown.matchAll(/^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s/gm)) numbers.add(match[1]!);
  return numbers;
}

/** Whitespace runs as one space, so a title wrapped in the doc matches its source line. */
function normalise(text: string): string {
  return text.replace(/\s+/g, ' ');
}

/**
 * The test titles quoted in the doc's "Verified by:" paragraphs; a title the doc
 * abbreviates with "…" gives each part it kept.
 */
function verifiedTitles(markdown: string): string[] {
  const titles: string[] = [];
  for (const paragraph of markdown.split(/\n\s*\n/)) {
    if (!paragraph.startsWith('Verified by:')) continue;
    for (const match of normalise(paragraph).matchAll(/"([^"]+)"/g)) titles.push(...match[1]!.split('…').map((part) => part.trim()).filter(Boolean));
  }
  return titles;
}

describe('the repository is self-contained', () => {
  const files = trackedTextFiles();

  it('reads the tracked files (the scan is not vacuous)', () => {
    expect(files).toContain('README.md');
    expect(files).toContain('src/rpc/server.ts');
    expect(files.length).toBeGreaterThan(100);
  });

  it('no tracked file refers to a path or document outside the repository', () => {
    const found: string[] = [];
    for (const path of files) {
      read(path)
        .split('\n')
        .forEach((line, index) => {
          for (const { pattern, why } of OUTSIDE_REFERENCES) if (pattern.test(line)) found.push(`${path}:${index + 1}: ${why}: ${line.trim()}`);
        });
    }
    expect(found).toEqual([]);
  });

  it('every docs/ file that is named exists', () => {
    const missing: string[] = [];
    for (const path of files) {
      for (const match of read(path).matchAll(/\bdocs\/[\w.-]+\.md\b/g)) if (!existsSync(join(ROOT, match[0]))) missing.push(`${path}: ${match[0]}`);
    }
    expect(missing).toEqual([]);
  });

  it('every relative link in a tracked Markdown file points at a file inside the repository', () => {
    const broken: string[] = [];
    for (const path of files.filter((file) => file.endsWith('.md'))) {
      for (const match of read(path).matchAll(/\]\((?!https?:|mailto:|#)([^)\s#]+)(?:#[^)]*)?\)/g)) {
        const target = resolve(ROOT, dirname(path), match[1]!);
        if (!target.startsWith(`${ROOT}${sep}`) || !existsSync(target)) broken.push(`${path}: ${match[1]}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('every "docs/wire-format.md §N" cited in the code and docs is a heading of that document', () => {
    const headings = headingNumbers(read('docs/wire-format.md'));
    const dangling: string[] = [];
    let citations = 0;
    for (const path of files) {
      for (const section of citedSections(read(path))) {
        citations += 1;
        if (!headings.has(section)) dangling.push(`${path}: §${section}`);
      }
    }
    expect(citations).toBeGreaterThan(20);
    expect(dangling).toEqual([]);
  });

  it('every § inside docs/wire-format.md points at one of its own headings', () => {
    const text = read('docs/wire-format.md');
    const headings = headingNumbers(text);
    const dangling = [...text.matchAll(/§(\d+(?:\.\d+)*)/g)].map((match) => match[1]!).filter((section) => !headings.has(section));
    expect(dangling).toEqual([]);
  });

  it('every test docs/wire-format.md names as verifying a rule exists under that title', () => {
    const testSources = files.filter((path) => path.startsWith('test/') && path.endsWith('.ts')).map((path) => normalise(read(path)));
    const titles = verifiedTitles(read('docs/wire-format.md'));
    expect(titles.length).toBeGreaterThan(50);
    const missing = titles.filter((title) => !testSources.some((source) => source.includes(title)));
    expect(missing).toEqual([]);
  });

  it('the citation and heading readers find what they should', () => {
    expect(citedSections('see docs/wire-format.md §1.2, §1.3 and wire-format §4.5: or (docs/wire-format.md §2–§4, §8)')).toEqual(['1.2', '1.3', '4.5', '2', '4', '8']);
    expect(citedSections('§9 alone is not a citation')).toEqual([]);
    expect([...headingNumbers('## 4. Calls\n### 4.2 Replies\n## Not numbered\n')]).toEqual(['4', '4.2']);
  });
});
