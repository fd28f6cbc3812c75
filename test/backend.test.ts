// Backend choice: automatic with a reason, overridable by CORIO_BACKEND and by run()'s option, and the
// io_uring refusal path (forced with a test-only switch) falls back to epoll and says why. Each build has
// its platform's backends; the io_uring cases run where the build has io_uring and say so where it has not.
import { constants } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { backend, compiledBackends, probeBackends, run } from '../src/index.js';
import { caught, missingBackend, skipTitle } from './helpers.js';

const probes = probeBackends();
const uring = probes.find((p) => p.name === 'uring');
const noUring = missingBackend('uring');
const EPERM = constants.errno.EPERM;
// What each platform's sources compile, best first. The macOS sources also build on Linux against libkqueue
// (npm run test:kqueue), so a Linux process with kqueue must be exactly the macOS set.
const platformSet =
  process.platform === 'win32' ? ['iocp']
  : process.platform === 'darwin' || compiledBackends().includes('kqueue') ? ['kqueue']
  : ['uring', 'epoll'];
// The backend a test names explicitly: the last compiled one, which every machine of that platform permits
// (epoll, kqueue, iocp; io_uring may be refused).
const plainBackend = compiledBackends().at(-1)!;

describe('backend choice', () => {
  const saved = process.env.CORIO_BACKEND;
  afterEach(() => {
    if (saved === undefined) delete process.env.CORIO_BACKEND;
    else process.env.CORIO_BACKEND = saved;
  });

  it(`this build has its platform's backends, best first: ${platformSet.join(', ')}`, () => {
    expect(compiledBackends()).toEqual(platformSet);
  });

  it('auto picks the first backend this machine permits (io_uring, else epoll on Linux) and gives the reason', () => {
    delete process.env.CORIO_BACKEND;
    const info = run(function* () {
      return backend();
    });
    expect(info.name).toBe(probes.find((p) => p.available)?.name);
    expect(info.reason.length).toBeGreaterThan(0);
    if (uring && !uring.available) expect(info.reason).toContain('io_uring unavailable');
  });

  it(`CORIO_BACKEND selects the backend (${plainBackend})`, () => {
    process.env.CORIO_BACKEND = plainBackend;
    expect(run(function* () { return backend().name; })).toBe(plainBackend);
  });

  it('CORIO_BACKEND set but empty means unset: auto, as with no variable', () => {
    delete process.env.CORIO_BACKEND;
    const unset = run(function* () { return backend().name; });
    process.env.CORIO_BACKEND = '';
    expect(run(function* () { return backend().name; })).toBe(unset);
  });

  it("run()'s backend option wins over the environment", () => {
    process.env.CORIO_BACKEND = 'nonsense';
    expect(run(function* () { return backend().name; }, { backend: plainBackend })).toBe(plainBackend);
  });

  it.skipIf(noUring !== '')(skipTitle('when io_uring setup is refused, auto falls back to epoll and says why', noUring), () => {
    const info = run(function* () {
      return backend();
    }, { backend: 'auto', native: { forceUringErrno: EPERM } });
    expect(info.name).toBe('epoll');
    expect(info.reason).toContain('io_uring unavailable');
    expect(info.reason).toContain('EPERM');
  });

  it.skipIf(noUring !== '')(skipTitle('asking for io_uring explicitly when it is refused is an error, not a silent fallback', noUring), () => {
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
