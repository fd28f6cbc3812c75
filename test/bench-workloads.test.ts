// Every workload in every style on tiny sizes, in this process: it runs, verifies its own output, and writes the
// same bytes as every other style; verification fails on a wrong output. Also the run plan's interleaving and
// the machine description helpers. Nothing here asserts a timing.
import { existsSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCases, corioSystem, nodeSystems, scaleParams, systemsFor, type SystemDef } from '../bench/cases.js';
import { runSpec } from '../bench/child.js';
import { mountOf } from '../bench/machine.js';
import { createProbe, plan } from '../bench/runner.js';
import { Checksum, records, sampleIndices } from '../bench/data.js';
import { manyFiles } from '../bench/workloads/files.js';
import { smallWrites } from '../bench/workloads/small.js';
import { sequential } from '../bench/workloads/sequential.js';
import { VerifyError, noMark } from '../bench/workload.js';
import { backendMatrix, scratch } from './helpers.js';

const corio = backendMatrix.filter((b) => b.available).map((b) => corioSystem(b.name));
const systems: SystemDef[] = [...corio, ...nodeSystems(false)];

const tiny = buildCases({
  files: 40, fileSize: 4096, concurrency: 8, seqBytes: 8 * 65536, chunk: 65536, smallWrites: 300, smallSize: 128,
  durableWrites: 12, durableSize: 4096, writers: 4, switches: 200, spawns: 50, w6Files: 20, w6Writes: 200, tickMs: 1,
});

describe('bench workloads on tiny sizes', () => {
  for (const c of tiny) {
    it(`${c.id} runs and verifies on ${systemsFor(c, systems).map((s) => s.id).join(', ')}, with identical output`, async () => {
      const root = scratch('corio-bench-test-');
      const sums = new Set<string>();
      for (const system of systemsFor(c, systems)) {
        const r = await runSpec({ caseId: c.id, factory: c.factory, params: c.params, system, dir: join(root, system.id), round: 0 });
        expect(r.error).toBeUndefined();
        expect(r.ok).toBe(true);
        expect(r.ops).toBeGreaterThan(0);
        expect(r.region!.wallMs).toBeGreaterThanOrEqual(0);
        if (system.flavor === 'corio') {
          expect(r.corio!.backend).toBe(system.backend);
          expect(r.corio!.loopCpuMs).toBeGreaterThanOrEqual(0);
        }
        if (c.id === 'w6') expect(r.lateness!.ticks).toBeGreaterThan(0);
        sums.add(r.verified!.checksum);
      }
      expect([...sums]).toHaveLength(1);
    });
  }

  it('reports a workload that cannot run in a style as a failed run, not a crash', async () => {
    const c = tiny.find((x) => x.id === 'w5-spawn')!;
    const r = await runSpec({ caseId: c.id, factory: c.factory, params: c.params, system: nodeSystems(false)[2], dir: scratch(), round: 0 });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/no sync implementation/);
    const n = await runSpec({ caseId: c.id, factory: c.factory, params: c.params, system: nodeSystems(false)[0], dir: scratch(), round: 0,
      verify: false });
    expect(n.ok).toBe(true);
    expect(n.verified).toBeUndefined();  // strace runs skip verification so its calls do not count as work
    const u = await runSpec({ caseId: 'x', factory: 'nope', params: {}, system: nodeSystems(false)[0], dir: scratch(), round: 0 });
    expect(u.error).toMatch(/unknown workload 'nope'/);
  });
});

describe('bench verification catches wrong output', () => {
  it('W1: a missing file, a short file, or changed bytes fail', () => {
    const dir = scratch();
    const w = manyFiles({ files: 10, size: 256, concurrency: 2 }, dir);
    w.sync!(noMark);
    expect(w.verify().detail).toContain('10 files');
    writeFileSync(join(dir, 'f0'), Buffer.alloc(256));
    expect(() => w.verify()).toThrow(VerifyError);
    truncateSync(join(dir, 'f0'), 10);
    expect(() => w.verify()).toThrow(/f0: size 10/);
    rmSync(join(dir, 'f0'));
    expect(() => w.verify()).toThrow(/9 files, expected 10/);
  });

  it('W2 and W3: a wrong size or a record at the wrong place fails', () => {
    const dir = scratch();
    const s = smallWrites({ count: 50, size: 16, inflight: 4 }, dir);
    s.sync!(noMark);
    s.verify();
    const path = join(dir, 'small.dat');
    const data = records(50, 16, 3);
    data.copy(data, 0, 16, 32);  // record 1 where record 0 belongs
    writeFileSync(path, data);
    expect(() => s.verify()).toThrow(/record 0 differs/);
    truncateSync(path, 49 * 16);
    expect(() => s.verify()).toThrow(/size 784, expected 800/);

    const q = sequential({ bytes: 4 * 4096, chunk: 4096, inflight: 2 }, join(dir, 'seq'));
    q.sync!(noMark);
    q.verify();
    truncateSync(join(dir, 'seq', 'sequential.dat'), 4096);
    expect(() => q.verify()).toThrow(VerifyError);
    q.cleanup!();
    expect(readdirSync(join(dir, 'seq'))).toEqual([]);
  });

  it('samples include the first and last record and checksums are stable', () => {
    const idx = sampleIndices(1000, 10, 5);
    expect(idx).toHaveLength(10);
    expect(idx[0]).toBe(0);
    expect(idx[idx.length - 1]).toBe(999);
    expect(sampleIndices(5, 10, 1)).toEqual([0, 1, 2, 3, 4]);
    expect(new Checksum().add(Buffer.from('hello')).hex()).toBe('4f9f2cab');  // FNV-1a 32 of "hello"
  });
});

describe('the breakdown\'s profiled run', () => {
  const hasSchedstat = existsSync(`/proc/self/task/${process.pid}/schedstat`);
  // The profiler is started and stopped at the region's marks in this process; what the samples say is not
  // asserted (that would be a timing), only that the region was sampled and folded into the known kinds.
  const w5 = tiny.find((c) => c.id === 'w5-switch')!;
  for (const system of [corio[0], nodeSystems(false)[0]].filter((s) => s !== undefined)) {
    it(`samples the timed region of ${system.id} and folds it by kind of work`, async () => {
      const params = { count: 20_000 };
      const r = await runSpec({ caseId: w5.id, factory: w5.factory, params, system, dir: scratch(), round: 0, profileUs: 100 });
      expect(r.error).toBeUndefined();
      expect(r.profile).toBeDefined();
      expect(r.profile!.samples).toBeGreaterThan(0);
      for (const k of ['loopJs', 'taskJs', 'nodeJs', 'gc', 'native'] as const) expect(r.profile![k]).toBeGreaterThanOrEqual(0);
      // The run-queue time comes from Linux's per-thread schedstat; where there is none (Windows, Wine) the
      // breakdown has no 'preempted' share and the field stays unset rather than a made-up 0.
      if (hasSchedstat) expect(r.region!.threads.mainRunqueueMs).toBeGreaterThanOrEqual(0);
      else expect(r.region!.threads.mainRunqueueMs).toBeUndefined();
    });
  }

  it('leaves runs without profileUs unprofiled', async () => {
    const r = await runSpec({ caseId: w5.id, factory: w5.factory, params: w5.params, system: nodeSystems(false)[0], dir: scratch(), round: 0 });
    expect(r.ok).toBe(true);
    expect(r.profile).toBeUndefined();
  });
});

describe('bench plan and machine helpers', () => {
  it('interleaves systems round by round and rotates their order', () => {
    const cases = tiny.filter((c) => c.id === 'w5-switch');
    const sys = [corioSystem('uring'), ...nodeSystems(false)];
    const jobs = plan(cases, sys, 3);
    const order = jobs.map((j) => `${j.round}:${j.system.id}`);
    expect(order).toEqual([
      '0:corio-uring', '0:node-promises', '0:node-callbacks',
      '1:node-promises', '1:node-callbacks', '1:corio-uring',
      '2:node-callbacks', '2:corio-uring', '2:node-promises',
    ]);
  });

  it('adds one profiled round after the measured ones when the breakdown is on', () => {
    const cases = tiny.filter((c) => c.id === 'w5-switch');
    const sys = [corioSystem('uring'), ...nodeSystems(false)];
    const jobs = plan(cases, sys, 2, true);
    expect(jobs).toHaveLength(9);
    expect(jobs.filter((j) => j.profile).map((j) => `${j.round}:${j.system.id}`).sort())
      .toEqual(['2:corio-uring', '2:node-callbacks', '2:node-promises']);
    expect(jobs.slice(0, 6).some((j) => j.profile)).toBe(false);
    expect(plan(cases, sys, 2).some((j) => j.profile)).toBe(false);
  });

  it('leaves sync out of W5 and W6, and the +uring Node variants out of W5', () => {
    const all = [corioSystem('uring'), ...nodeSystems(true)];
    const ids = (id: string) => systemsFor(tiny.find((c) => c.id === id)!, all).map((s) => s.id);
    expect(ids('w5-switch')).toEqual(['corio-uring', 'node-promises', 'node-callbacks']);
    expect(ids('w6')).not.toContain('node-sync');
    expect(ids('w6')).toContain('node-promises-uring');
    expect(ids('w1')).toHaveLength(6);
  });

  it('scales counts for strace runs but not sizes of one item', () => {
    expect(scaleParams({ count: 1000, size: 128, inflight: 32 }, 10)).toEqual({ count: 100, size: 128, inflight: 32 });
    expect(scaleParams({ files: { files: 50, size: 4096 }, tickMs: 1 }, 10)).toEqual({ files: { files: 5, size: 4096 }, tickMs: 1 });
  });

  it('probes file creation in a fresh directory and leaves the files for the final clean-up', () => {
    const dir = join(scratch(), 'probe');
    expect(Number.isFinite(createProbe(dir, 5))).toBe(true);
    expect(readdirSync(dir)).toHaveLength(5);
  });

  it('finds the mount of a directory in /proc/mounts', () => {
    const mounts = '/dev/vda / ext4 rw,relatime 0 0\ntmpfs /tmp tmpfs rw 0 0\n/dev/vdb /mnt/my\\040disk xfs rw 0 0\n';
    expect(mountOf('/tmp/x', mounts)).toEqual({ point: '/tmp', type: 'tmpfs', options: 'rw' });
    expect(mountOf('/tmpfoo', mounts)?.type).toBe('ext4');
    expect(mountOf('/mnt/my disk/a', mounts)?.type).toBe('xfs');
  });
});
