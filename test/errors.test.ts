// System errors: Node's shape on this platform, and the Windows route (C runtime errno → name → libuv code),
// which is exercised here by naming the platform since Windows itself is not available.
import * as fs from 'node:fs';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CorioError, isSystemError, systemError } from '../src/index.js';
import { lookupErrno } from '../src/core/errors.js';
import { caught } from './helpers.js';

describe('system errors', () => {
  it('have the same code, errno, syscall, path and message as node:fs', () => {
    // An absolute path of this platform: node:fs on Windows reports '/no/such/file' resolved (Z:\no\such\file
    // under Wine), and systemError() takes the path as the backend was given it.
    const missing = resolve('/no/such/file');
    const node = caught(() => fs.openSync(missing, 'r'));
    const ours = systemError(constants.errno.ENOENT, 'open', missing);
    expect({ code: ours.code, errno: ours.errno, syscall: ours.syscall, path: ours.path, message: ours.message })
      .toEqual({ code: node.code, errno: node.errno, syscall: node.syscall, path: node.path, message: node.message });
  });

  it('on Windows, errno values are matched by name to libuv codes', () => {
    const [uv, name, description] = lookupErrno(constants.errno.EEXIST, 'win32')!;
    expect(name).toBe('EEXIST');
    expect(getSystemErrorMap().get(uv)?.[0]).toBe('EEXIST');
    expect(description.length).toBeGreaterThan(0);
  });

  it('an errno nobody knows still gives a typed error', () => {
    const e = systemError(4000, 'write');
    expect(e.code).toBe('E4000');
    expect(e.errno).toBe(-4000);
  });

  it('isSystemError() recognises corio\'s and node:fs\'s system errors and nothing else', () => {
    expect(isSystemError(systemError(constants.errno.ENOENT, 'open', '/x'))).toBe(true);
    expect(isSystemError(caught(() => fs.openSync('/no/such/file', 'r')))).toBe(true);
    // A CorioError has a string code but is no failed system call.
    expect(isSystemError(new CorioError('ERR_CORIO_X', 'bad use'))).toBe(false);
    expect(isSystemError(new Error('plain'))).toBe(false);
    expect(isSystemError({ code: 'ENOENT', errno: -2, syscall: 'open' })).toBe(false);  // not an Error
    expect(isSystemError(undefined)).toBe(false);
  });
});
