// Node's open flag strings, translated to the host's O_* values (fs.constants), so `open(path, 'wx')` means
// exactly what it means to node:fs on every platform.
import { constants } from 'node:fs';
import { describeValue, invalidArgType } from '../core/errors.js';

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_SYNC } = constants;

const table: Record<string, number> = {
  r: O_RDONLY,
  rs: O_RDONLY | O_SYNC,
  sr: O_RDONLY | O_SYNC,
  'r+': O_RDWR,
  'rs+': O_RDWR | O_SYNC,
  'sr+': O_RDWR | O_SYNC,
  w: O_TRUNC | O_CREAT | O_WRONLY,
  wx: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  xw: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  'w+': O_TRUNC | O_CREAT | O_RDWR,
  'wx+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  'xw+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  a: O_APPEND | O_CREAT | O_WRONLY,
  ax: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  xa: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  as: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  sa: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  'a+': O_APPEND | O_CREAT | O_RDWR,
  'ax+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'xa+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'as+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
  'sa+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
};

/** open()'s flags: node:fs's strings ('r', 'w', 'a+', 'wx' …) or a number made of fs.constants (O_WRONLY | O_CREAT …). */
export type OpenFlags = keyof typeof table | number;

export function parseFlags(flags: unknown): number {
  if (typeof flags === 'number') {
    if (!Number.isInteger(flags)) throw invalidArgType('flags', 'an integer or a flag string', flags);
    return flags;
  }
  if (typeof flags === 'string') {
    const value = table[flags];
    if (value === undefined) {
      const err = new TypeError(`The value "${flags}" is invalid for option "flags"`);
      (err as TypeError & { code: string }).code = 'ERR_INVALID_ARG_VALUE';
      throw err;
    }
    return value;
  }
  throw invalidArgType('flags', 'of type string or number', flags);
}

export function parseMode(mode: unknown, fallback: number): number {
  if (mode === undefined) return fallback;
  if (typeof mode === 'string' && /^[0-7]+$/.test(mode)) return parseInt(mode, 8);
  if (typeof mode === 'number' && Number.isInteger(mode) && mode >= 0 && mode <= 0o7777) return mode;
  const err = new TypeError(`The argument 'mode' must be a 32-bit unsigned integer or an octal string. Received ${describeValue(mode)}`);
  (err as TypeError & { code: string }).code = 'ERR_INVALID_ARG_VALUE';
  throw err;
}
