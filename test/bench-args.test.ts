// The bench command line: commands, options, sizes, filters and usage errors (no benchmark is run).
import { describe, expect, it } from 'vitest';
import { caseSelected, parseCommand, parseSize, systemSelected, UsageError, type BenchOptions } from '../bench/args.js';
import { DEFAULT_SIZES, QUICK_SIZES } from '../bench/cases.js';

function options(argv: string[]): BenchOptions {
  const c = parseCommand(argv);
  if (c.command !== 'bench') throw new Error(`expected the bench command, got ${c.command}`);
  return c.options;
}

describe('bench command line', () => {
  it('runs the bench with no arguments, with "bench" first, and with options only', () => {
    expect(options([]).runs).toBe(5);
    expect(options(['bench']).sizes).toEqual(DEFAULT_SIZES);
    expect(options(['--runs', '3']).runs).toBe(3);
    expect(options(['bench', '--runs', '7']).runs).toBe(7);
  });

  it('prints usage for help and rejects unknown commands and options', () => {
    expect(parseCommand(['help']).command).toBe('help');
    expect(parseCommand(['--help']).command).toBe('help');
    expect(parseCommand(['bench', '-h']).command).toBe('help');
    expect(parseCommand(['bench', '--render', 'r.json'])).toEqual({ command: 'render', file: 'r.json' });
    expect(() => parseCommand(['frobnicate'])).toThrow(UsageError);
    expect(() => parseCommand(['frobnicate'])).toThrow(/unknown command 'frobnicate'/);
    expect(() => parseCommand(['--bogus'])).toThrow(UsageError);
    expect(() => parseCommand(['bench', 'extra'])).toThrow(UsageError);
  });

  it('profiles one extra round for the breakdown, except in --quick unless asked', () => {
    expect(options([]).breakdown).toBe(true);
    expect(options(['--no-breakdown']).breakdown).toBe(false);
    expect(options(['--quick']).breakdown).toBe(false);
    expect(options(['--quick', '--breakdown']).breakdown).toBe(true);
  });

  it('--quick picks the small sizes and 1 run per case; --runs still wins', () => {
    const q = options(['--quick']);
    expect(q.quick).toBe(true);
    expect(q.sizes).toEqual(QUICK_SIZES);
    expect(q.runs).toBe(1);
    expect(options(['--quick', '--runs', '4']).runs).toBe(4);
  });

  it('parses sizes with suffixes and counts, and scales every count', () => {
    expect(parseSize('4096', 'x')).toBe(4096);
    expect(parseSize('64K', 'x')).toBe(65536);
    expect(parseSize('512M', 'x')).toBe(512 * 1024 * 1024);
    expect(parseSize('1g', 'x')).toBe(1024 ** 3);
    expect(parseSize('1.5KiB', 'x')).toBe(1536);
    expect(() => parseSize('lots', 'x')).toThrow(UsageError);
    expect(() => parseSize('0', 'x')).toThrow(UsageError);

    const o = options(['--files', '100', '--file-size', '8K', '--seq-size', '16M', '--chunk', '1M', '--small-writes', '1_000',
      '--writers', '4', '--switches', '10', '--spawns', '20', '--tick', '0.5']);
    expect(o.sizes).toMatchObject({ files: 100, fileSize: 8192, seqBytes: 16 << 20, chunk: 1 << 20, smallWrites: 1000, writers: 4,
      switches: 10, spawns: 20, tickMs: 0.5 });
    const s = options(['--scale', '0.01']);
    expect(s.sizes.files).toBe(100);
    expect(s.sizes.smallWrites).toBe(2000);
    expect(s.sizes.fileSize).toBe(DEFAULT_SIZES.fileSize);  // sizes of one item are not counts
    expect(() => options(['--runs', '0'])).toThrow(/--runs must be a positive integer/);
    expect(() => options(['--files', '-3'])).toThrow(UsageError);
    expect(() => options(['--seq-size', '4K', '--chunk', '64K'])).toThrow(/at least --chunk/);
  });

  it('selects workloads and systems by name or prefix', () => {
    const o = options(['--workloads', 'w1, W3-32,w5', '--systems', 'corio,node-sync', '--no-node-uring', '--syscalls']);
    expect(o.workloads).toEqual(['w1', 'w3-32', 'w5']);
    expect(o.nodeUring).toBe(false);
    expect(o.syscalls).toBe(true);
    expect(caseSelected('w3-32', o.workloads)).toBe(true);
    expect(caseSelected('w3-1', o.workloads)).toBe(false);
    expect(caseSelected('w5-spawn', o.workloads)).toBe(true);
    expect(caseSelected('w2-8', [])).toBe(true);
    expect(systemSelected('corio-epoll', o.systems)).toBe(true);
    expect(systemSelected('node-sync', o.systems)).toBe(true);
    expect(systemSelected('node-promises', o.systems)).toBe(false);
    expect(() => options(['--workloads', 'w9'])).toThrow(/unknown workload 'w9'/);
  });

  it('leaves the output folder to the run (null: ./corio-bench-<stamp>/) and takes --dir, --out and --timeout', () => {
    expect(options([]).out).toBeNull();
    const o = options(['--dir', '/mnt/x', '--out', '/tmp/r', '--timeout', '30']);
    expect(o).toMatchObject({ dir: '/mnt/x', out: '/tmp/r', timeout: 30 });
  });
});
