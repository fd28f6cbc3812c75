// Backend choice: automatic with a reason, overridable by CORIO_BACKEND and by run()'s option, and the
// io_uring refusal path (forced with a test-only switch) falls back to epoll and says why.
import { afterEach, describe, expect, it } from 'vitest';
import { backend, compiledBackends, probeBackends, run } from '../src/index.js';
import { caught } from './helpers.js';

const uring = probeBackends().find((p) => p.name === 'uring');
const EPERM = 1;

describe('backend choice', () => {
  const saved = process.env.CORIO_BACKEND;
  afterEach(() => {
    if (saved === undefined) delete process.env.CORIO_BACKEND;
    else process.env.CORIO_BACKEND = saved;
  });

  it('this Linux build has io_uring and epoll, best first', () => {
    expect(compiledBackends()).toEqual(['uring', 'epoll']);
  });

  it('auto picks io_uring when the kernel permits it, else epoll, and gives the reason', () => {
    delete process.env.CORIO_BACKEND;
    const info = run(function* () {
      return backend();
    });
    expect(info.name).toBe(uring?.available ? 'uring' : 'epoll');
    expect(info.reason.length).toBeGreaterThan(0);
    if (!uring?.available) expect(info.reason).toContain('io_uring unavailable');
  });

  it('CORIO_BACKEND selects the backend', () => {
    process.env.CORIO_BACKEND = 'epoll';
    expect(run(function* () { return backend().name; })).toBe('epoll');
  });

  it('CORIO_BACKEND set but empty means unset: auto, as with no variable', () => {
    delete process.env.CORIO_BACKEND;
    const unset = run(function* () { return backend().name; });
    process.env.CORIO_BACKEND = '';
    expect(run(function* () { return backend().name; })).toBe(unset);
  });

  it("run()'s backend option wins over the environment", () => {
    process.env.CORIO_BACKEND = 'nonsense';
    expect(run(function* () { return backend().name; }, { backend: 'epoll' })).toBe('epoll');
  });

  it('when io_uring setup is refused, auto falls back to epoll and says why', () => {
    const info = run(function* () {
      return backend();
    }, { backend: 'auto', native: { forceUringErrno: EPERM } });
    expect(info.name).toBe('epoll');
    expect(info.reason).toContain('io_uring unavailable');
    expect(info.reason).toContain('EPERM');
  });

  it('asking for io_uring explicitly when it is refused is an error, not a silent fallback', () => {
    const err = caught(() => run(function* () {}, { backend: 'uring', native: { forceUringErrno: EPERM } }));
    expect(err.code).toBe('ERR_CORIO_BACKEND_UNAVAILABLE');
    expect(err.message).toContain('EPERM');
  });

  it('bad native options are range errors', () => {
    expect(caught(() => run(function* () {}, { native: { queueDepth: 0 } })).code).toBe('ERR_OUT_OF_RANGE');
    expect(caught(() => run(function* () {}, { native: { poolThreads: 1.5 } })).code).toBe('ERR_OUT_OF_RANGE');
    expect(caught(() => run(function* () {}, { clock: 'sundial' as never })).code).toBe('ERR_INVALID_ARG_VALUE');
  });
});
