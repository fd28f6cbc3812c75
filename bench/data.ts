// Deterministic payloads and checksums. Every byte a workload writes is derived from a seed, so the process
// that wrote it can check what landed on disk, and every system of one case writes identical files: the
// checksum of the sampled bytes must then match across systems (the parent compares them).
import { Buffer } from 'node:buffer';

/** A buffer of `size` bytes filled from `seed` (xorshift32 per 32-bit word; fast enough for 512 MiB). */
export function pattern(size: number, seed: number): Buffer {
  const words = Math.ceil(size / 4);
  const ab = new ArrayBuffer(words * 4);
  const u32 = new Uint32Array(ab);
  let x = (seed * 2654435761 + 0x9e3779b9) >>> 0 || 1;
  for (let i = 0; i < words; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    u32[i] = x;
  }
  return Buffer.from(ab, 0, size);
}

/**
 * Writes the record number into the first 4 bytes (and the last 4, when the record has 8 or more) of a record,
 * so a record written at the wrong offset, twice, or not at all is caught even if the filler is periodic.
 */
export function stamp(buf: Buffer, offset: number, length: number, index: number): void {
  if (length >= 4) buf.writeUInt32LE(index >>> 0, offset);
  if (length >= 8) buf.writeUInt32LE((index ^ 0xa5a5a5a5) >>> 0, offset + length - 4);
}

/** A payload of `count` records of `size` bytes, each stamped with its number. */
export function records(count: number, size: number, seed: number): Buffer {
  const buf = pattern(count * size, seed);
  for (let i = 0; i < count; i++) stamp(buf, i * size, size, i);
  return buf;
}

/** FNV-1a 32-bit over a list of byte ranges: the "checksum sample" each workload reports. */
export class Checksum {
  private h = 0x811c9dc5;
  bytes = 0;
  add(data: Uint8Array): this {
    let h = this.h;
    for (let i = 0; i < data.length; i++) {
      h ^= data[i];
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    this.h = h;
    this.bytes += data.length;
    return this;
  }
  hex(): string {
    return this.h.toString(16).padStart(8, '0');
  }
}

/** `count` distinct indices in [0, n) chosen from `seed`, always including the first and the last. */
export function sampleIndices(n: number, count: number, seed: number): number[] {
  if (n <= 0) return [];
  if (count >= n) return Array.from({ length: n }, (_, i) => i);
  const picked = new Set<number>([0, n - 1]);
  let x = (seed >>> 0) || 7;
  while (picked.size < count) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    picked.add(x % n);
  }
  return [...picked].sort((a, b) => a - b);
}
