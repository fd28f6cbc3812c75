// The simulation's only source of randomness: a small seeded generator (SplitMix64 to spread the seed, then
// xoshiro128** for the stream). Everything the simulation draws — latencies, partial completions, faults,
// what a crash keeps, writeFileAtomic's temporary names — comes from one of these, so one seed replays one run.

/** A seeded pseudo-random stream. Not for cryptography: for reproducible choices. */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(readonly seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`a simulation seed must be a safe integer, got ${seed}`);
    let s = BigInt.asUintN(64, BigInt(seed));
    const next = (): number => {
      s = BigInt.asUintN(64, s + 0x9e3779b97f4a7c15n);
      let z = s;
      z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
      z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
      z ^= z >> 31n;
      return Number(z & 0xffffffffn) | 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;  // the all-zero state would stay zero
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / 0x100000000;
  }

  /** An integer in [0, n) (n ≥ 1). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.nextUint32() & 0xff;
    return out;
  }

  /** An independent stream for one purpose, so drawing more for one thing does not shift another. */
  fork(salt: number): SeededRandom {
    return new SeededRandom((this.nextUint32() * 0x10000 + (salt & 0xffff)) % Number.MAX_SAFE_INTEGER);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
