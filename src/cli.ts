#!/usr/bin/env node
// The `corio` command (package.json "bin"): help, --version, `info` (what the loop would run on here and why)
// and `bench` (the benchmark suite, loaded only when asked for).
import { readFileSync, realpathSync } from 'node:fs';
import { release } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chooseBackend, probeBackends, requestedBackend, type BackendProbe } from './drivers/backends.js';
import { DEFAULT_POOL_THREADS, loadedAddon, type LoadedAddon } from './drivers/native.js';

export const USAGE = `usage: corio <command> [options]

commands:
  info [--json]     the backend corio would choose here and why, the kernel features it probed, the pool
                    size, the addon that was loaded (prebuilt or built locally) and the versions
  bench [options]   the benchmark suite against Node's own loop; corio bench --help lists its options
  trace FILE [--svg OUT]
                    the summary of a trace recorded with run(main, { trace }) or CORIO_TRACE=FILE, and
                    with --svg its timeline as a picture
  help              this text

options:
  -h, --help        this text
  -v, --version     corio's version`;

interface PackageJson {
  name: string;
  version: string;
  binary?: { napi_versions?: number[] };
}

/** The folder holding corio's package.json: two levels above dist/src/cli.js, one above src/cli.ts. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
      if (pkg.name === 'corio') return dir;
    } catch {
      // no package.json here: keep climbing
    }
    dir = dirname(dir);
  }
  throw new Error('corio: cannot find its own package.json');
}

export function packageJson(): PackageJson {
  return JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as PackageJson;
}

/** Everything `corio info` reports, as data (`corio info --json` prints it as is). */
export interface Info {
  version: string;
  chosen: BackendProbe;
  /** Why that backend: who asked for what. */
  requested: { kind: string; source: 'option' | 'CORIO_BACKEND' | 'default' };
  backends: BackendProbe[];
  /** /proc/sys/kernel/io_uring_disabled (Linux): 0 allowed, 1 root/group only, 2 refused; null elsewhere. */
  ioUringDisabled: number | null;
  poolThreads: number;
  addon: LoadedAddon & { relativePath: string };
  versions: { corio: string; node: string; napi: string; addonNapi: number | null; v8: string; platform: string; kernel: string; libc: string | null };
}

function ioUringDisabled(): number | null {
  if (process.platform !== 'linux') return null;
  try {
    return Number(readFileSync('/proc/sys/kernel/io_uring_disabled', 'utf8').trim());
  } catch {
    return null;  // kernels before 6.6 have no such switch
  }
}

function libc(): string | null {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  if (header?.glibcVersionRuntime) return `glibc ${header.glibcVersionRuntime}`;
  return process.platform === 'linux' ? 'musl or other (not glibc)' : null;
}

export function collectInfo(env: NodeJS.ProcessEnv = process.env): Info {
  const pkg = packageJson();
  const requested = requestedBackend(undefined, env);
  return {
    version: pkg.version,
    chosen: chooseBackend(requested.kind),
    requested,
    backends: probeBackends(),
    ioUringDisabled: ioUringDisabled(),
    poolThreads: DEFAULT_POOL_THREADS,
    addon: { ...loadedAddon, relativePath: relative(packageRoot(), loadedAddon.path) },
    versions: {
      corio: pkg.version,
      node: process.versions.node,
      napi: process.versions.napi ?? '?',
      addonNapi: pkg.binary?.napi_versions?.[0] ?? null,
      v8: process.versions.v8,
      platform: `${process.platform}-${process.arch}`,
      kernel: release(),
      libc: libc(),
    },
  };
}

/** The probe's reason is a comma-separated list of what it found ("kernel 6.18, SINGLE_ISSUER+…, …"). */
function features(reason: string): string[] {
  return reason.replace(/^(requested|io_uring permitted): /, '').split(', ').filter((s) => s !== '' && s !== 'requested');
}

export function formatInfo(info: Info): string {
  const lines: string[] = [];
  const who =
    info.requested.source === 'CORIO_BACKEND'
      ? `CORIO_BACKEND=${info.requested.kind}`
      : 'nothing requested (CORIO_BACKEND unset or empty), so auto: io_uring where the kernel permits it, else epoll';
  lines.push(`corio ${info.version}`);
  lines.push('');
  if (info.chosen.available) {
    lines.push(`backend: ${info.chosen.name}`);
  } else {
    lines.push(`backend: none — run() would fail: ${info.chosen.reason}`);
  }
  lines.push(`  why: ${who}`);
  if (info.chosen.available) lines.push(`  the backend says: ${info.chosen.reason}`);
  lines.push('');
  lines.push('backends in this build (probed: each is created and destroyed once):');
  for (const b of info.backends) {
    lines.push(`  ${b.name.padEnd(6)} ${b.available ? 'available' : 'unavailable'}`);
    const found = b.available ? features(b.reason) : [b.reason];
    for (const f of found) lines.push(`           ${f}`);
    if (b.name === 'uring' && b.available) {
      lines.push('           required and present: IORING_FEAT_EXT_ARG, NODROP, RW_CUR_POS; opcodes READ, WRITE, READV,');
      lines.push('           WRITEV, OPENAT, CLOSE, FSYNC, STATX, ASYNC_CANCEL (IORING_REGISTER_PROBE)');
    }
  }
  if (info.ioUringDisabled !== null) lines.push(`  kernel.io_uring_disabled = ${info.ioUringDisabled}`);
  lines.push('');
  lines.push(`pool: ${info.poolThreads} threads (the epoll backend's file operations; run(main, { native: { poolThreads } }) changes it)`);
  lines.push(`addon: ${info.addon.kind}, ${info.addon.relativePath}`);
  const v = info.versions;
  lines.push(
    `versions: corio ${v.corio}, node ${v.node}, N-API ${v.napi} (addon built for ${v.addonNapi ?? '?'}), V8 ${v.v8}, ` +
      `${v.platform}, kernel ${v.kernel}${v.libc ? `, ${v.libc}` : ''}`,
  );
  return lines.join('\n');
}

/** Runs one command line (argv without node and the script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case 'help':
    case '-h':
    case '--help':
      console.log(USAGE);
      return 0;
    case 'version':
    case '-v':
    case '--version':
      console.log(packageJson().version);
      return 0;
    case 'info': {
      const unknown = rest.filter((a) => a !== '--json');
      if (unknown.length > 0) {
        console.error(`corio info: unknown option '${unknown[0]}' (only --json)`);
        return 2;
      }
      const info = collectInfo();
      console.log(rest.includes('--json') ? JSON.stringify(info, null, 2) : formatInfo(info));
      return info.chosen.available ? 0 : 1;
    }
    case 'bench': {
      // Loaded on demand: the benchmark suite is most of the CLI's code and `info` does not need it.
      const bench = await import('../bench/cli.js');
      return bench.main(argv);
    }
    case 'trace': {
      const { traceCommand } = await import('./trace/command.js');
      return traceCommand(rest);
    }
    default:
      console.error(`corio: unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

// npm links the bin through a symlink: compare real paths, not argv[1] as given.
function isEntry(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntry()) process.exitCode = await main(process.argv.slice(2));
