// Prints the addon's source files for one platform (binding.gyp's own sources plus its OS=='<os>' block), one
// a line, so the cross builds (build-addon-windows.sh, test-kqueue.sh) compile exactly what node-gyp would.
// Usage: node scripts/gyp-sources.mjs win|mac|linux
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const os = process.argv[2];
if (!['win', 'mac', 'linux'].includes(os)) {
  console.error('usage: node scripts/gyp-sources.mjs win|mac|linux');
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// binding.gyp is a Python literal: '#' comments and trailing commas are allowed, which JSON.parse refuses.
const text = readFileSync(join(root, 'binding.gyp'), 'utf8')
  .split('\n')
  .filter((line) => !line.trimStart().startsWith('#'))
  .join('\n')
  .replace(/,(\s*[\]}])/g, '$1');
const target = JSON.parse(text).targets.find((t) => t.target_name === 'corio');
const sources = [...target.sources];
for (const [condition, settings] of target.conditions ?? []) {
  // Only the plain per-OS blocks: the sanitizer block adds flags, not sources.
  if (condition === `OS=='${os}'` && settings.sources) sources.push(...settings.sources);
}
console.log(sources.join('\n'));
