/**
 * How a benchmark starts a sibling module in a child process: the compiled `.js`
 * with plain node when the benchmark runs compiled (`npm run bench`), or the `.ts`
 * through tsx when it runs from source.
 */
import { copyFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** node arguments that run `modulePath` (relative to this folder's parent, without extension). */
export function nodeArgsFor(modulePath: string): string[] {
  const compiled = import.meta.url.endsWith('.js');
  if (compiled) {
    // The compiled tree needs the manifest beside it as dist/ has it (`novarpc --version` reads it).
    const manifest = fileURLToPath(new URL('../package.json', import.meta.url));
    if (!existsSync(manifest)) copyFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), manifest);
  }
  const file = fileURLToPath(new URL(`../${modulePath}.${compiled ? 'js' : 'ts'}`, import.meta.url));
  return compiled ? [file] : ['--import', 'tsx', file];
}
