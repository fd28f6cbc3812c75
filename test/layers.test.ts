// Layering: folders name the layers and imports run downward only (README "Layout"). Reads every source
// file's import specifiers and fails on one that reaches a higher layer, naming the file and the import.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

// Each layer and the layers it may import (besides itself). The top (run.ts, index.ts) may import anything.
const allowed: Record<string, string[]> = {
  drivers: [],
  core: ['drivers'],
  concurrency: ['core', 'drivers'],
  fs: ['concurrency', 'core', 'drivers'],
  // Formats of a recorded trace (Perfetto JSON, SVG, summary): they read core's records, nothing above.
  trace: ['core', 'drivers'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function layerOf(path: string): string {
  const first = relative(src, path).split(/[\\/]/)[0];
  return first.endsWith('.ts') ? 'top' : first;
}

// Static imports, re-exports and dynamic import() of relative specifiers.
function relativeImports(text: string): string[] {
  const found: string[] = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) found.push(match[1]);
  return found;
}

function upwardImports(): string[] {
  const problems: string[] = [];
  for (const file of sourceFiles(src)) {
    const layer = layerOf(file);
    if (layer === 'top') continue;
    const may = allowed[layer];
    if (!may) {
      problems.push(`${relative(root, file)}: folder src/${layer}/ is not a known layer`);
      continue;
    }
    for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec);
      const targetLayer = layerOf(target);
      if (targetLayer !== layer && !may.includes(targetLayer)) {
        problems.push(`${relative(root, file)} imports ${spec} (src/${targetLayer === 'top' ? '' : targetLayer + '/'}), above its layer`);
      }
    }
  }
  return problems;
}

describe('layers', () => {
  it('finds the import statements it checks', () => {
    // Guards the checker itself: a pattern that matched nothing would pass every tree.
    expect(relativeImports("import { a } from '../core/loop.js';\nexport * from './x.js';\nawait import('../fs/file.js');"))
      .toEqual(['../core/loop.js', './x.js', '../fs/file.js']);
    expect(sourceFiles(src).length).toBeGreaterThan(20);
  });

  it('no file in src/drivers, src/core or src/concurrency imports from a layer above it', () => {
    expect(upwardImports()).toEqual([]);
  });
});
