// Compiled by test/types.test.ts against the published declarations (dist/src/index.d.ts). Each Assert<…> line
// is a type-level test: it stops compiling if the inferred type is not exactly the one named.
import { all, allSettled, first, isSystemError, race, readFile, run, sleep, type Operation, type Settled } from '../../dist/src/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;

declare const num: Operation<number>;
declare const str: Operation<string>;
function* flag(): Operation<boolean> {
  yield* sleep(0);
  return true;
}

await run(function* () {
  // all() keeps each position's type, as Promise.all does, for operations and generator functions alike.
  const pair = yield* all([num, flag]);
  type _pair = Assert<Equal<typeof pair, [number, boolean]>>;
  const [n, b] = pair;
  n.toFixed();
  b.valueOf();

  const three = yield* all([num, str, function* () { return 1n; }]);
  type _three = Assert<Equal<typeof three, [number, string, bigint]>>;

  // An array of unknown length gives an array.
  const many: Operation<number>[] = [num, num];
  const spread = yield* all(many);
  type _spread = Assert<Equal<typeof spread, number[]>>;

  const settled = yield* allSettled([num, str]);
  type _settled = Assert<Equal<typeof settled, [Settled<number>, Settled<string>]>>;

  // race() and first() give the union of the values.
  const winner = yield* race([num, str]);
  type _winner = Assert<Equal<typeof winner, number | string>>;
  const firstOk = yield* first([flag, num]);
  type _first = Assert<Equal<typeof firstOk, boolean | number>>;

  try {
    yield* readFile('/no/such/file');
  } catch (e) {
    // @ts-expect-error catch binding is unknown: no .code without the guard
    e.code;
    if (isSystemError(e) && e.code === 'ENOENT') {
      const code: 'ENOENT' = e.code;
      const errno: number = e.errno;
      const syscall: string = e.syscall;
      const path: string | undefined = e.path;
      void [code, errno, syscall, path];
    }
  }
});
