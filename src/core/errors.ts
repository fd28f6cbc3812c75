// Errors corio throws. System errors are shaped exactly like node:fs errors (code, errno, syscall, path and
// the same message format), so code written against node:fs handles them unchanged.
import { constants as osConstants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

const systemErrors = getSystemErrorMap();

/**
 * Node keys its error table by libuv code. On Unix that is -errno, so the backend's errno indexes it
 * directly. On Windows libuv's codes are its own (ENOENT is -4058) while the backend reports the C runtime's
 * errno values (ENOENT is 2), so there the errno is first turned into its name, then into libuv's entry.
 */
const byName = new Map<string, [number, string]>();
for (const [uv, [name, description]] of systemErrors) if (!byName.has(name)) byName.set(name, [uv, description]);
const nameOfCrtErrno = new Map<number, string>();
for (const [name, value] of Object.entries(osConstants.errno)) if (!nameOfCrtErrno.has(value)) nameOfCrtErrno.set(value, name);

/** @internal [libuv code, name, description] for a positive errno from the backend on `platform`. */
export function lookupErrno(errno: number, platform: string = process.platform): [number, string, string] | undefined {
  if (platform !== 'win32') {
    const entry = systemErrors.get(-errno);
    return entry ? [-errno, entry[0], entry[1]] : undefined;
  }
  const name = nameOfCrtErrno.get(errno);
  const entry = name === undefined ? undefined : byName.get(name);
  return entry ? [entry[0], name!, entry[1]] : undefined;
}

/** A failed system call, shaped like node:fs's errors: `code` ('ENOENT'), negative `errno`, `syscall`, `path`. */
export interface SystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
  dest?: string;
}

/**
 * Whether `error` is a failed system call's error, corio's or node:fs's (both have a string `code`, a numeric
 * `errno` and a `syscall`), so `catch (e) { if (isSystemError(e) && e.code === 'ENOENT') … }` type-checks
 * without a cast. corio's own errors (CorioError, CancelledError, …) are not system errors.
 */
export function isSystemError(error: unknown): error is SystemError {
  if (!(error instanceof Error)) return false;
  const e = error as Partial<SystemError>;
  return typeof e.code === 'string' && typeof e.errno === 'number' && typeof e.syscall === 'string';
}

/** Builds a Node-style system error from a positive errno (as the kernel reports it) and the call. */
export function systemError(errno: number, syscall: string, path?: string, dest?: string): SystemError {
  // Node's errno is negative (libuv's convention, equal to -errno on Unix) and so are the map's keys.
  const [uvCode, code, description] = lookupErrno(Math.abs(errno)) ?? [-Math.abs(errno), `E${Math.abs(errno)}`, 'unknown error'];
  const where = path === undefined ? syscall : dest === undefined ? `${syscall} '${path}'` : `${syscall} '${path}' -> '${dest}'`;
  const err = new Error(`${code}: ${description}, ${where}`) as SystemError;
  err.errno = uvCode;
  err.code = code;
  err.syscall = syscall;
  if (path !== undefined) err.path = path;
  if (dest !== undefined) err.dest = dest;
  Error.captureStackTrace?.(err, systemError);
  return err;
}

/** An error of corio's own (bad use of the API), with a Node-style `code`. */
export class CorioError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'CorioError';
    this.code = code;
  }
}

/**
 * Thrown into a task at its suspension point when it (or a scope it is in: a timeout, a task group) is
 * cancelled. `scope` says which cancellation this is, so each scope absorbs only its own. When the kernel
 * reported that an interrupted write or read had already moved some bytes, `bytesTransferred` says how many
 * (those bytes are in the file).
 */
export class CancelledError extends Error {
  readonly code = 'ERR_CORIO_CANCELLED';
  bytesTransferred: number | undefined;
  constructor(
    message = 'Task was cancelled',
    readonly scope?: unknown,
  ) {
    super(message);
    this.name = 'CancelledError';
  }
}

/** withTimeout() ran out of time. */
export class TimeoutError extends Error {
  readonly code = 'ERR_CORIO_TIMEOUT';
  constructor(readonly ms: number) {
    super(`Timed out after ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * Internal: what an operation reports when its cancellation reached the kernel — how many bytes moved before
 * it stopped (0 for -ECANCELED). The task turns it into the CancelledError of the scope that cancelled it.
 */
export class Interrupted {
  constructor(readonly bytesTransferred: number) {}
}

/** A request to stop the process that corio handles: SIGINT (Ctrl-C; on Windows the console's Ctrl-C) or SIGTERM. */
export type StopSignal = 'SIGINT' | 'SIGTERM';

/**
 * run() (or the hosted entry point) was stopped by SIGINT or SIGTERM: the main task was cancelled, its
 * finally blocks ran, and this is what the entry point throws. Left uncaught, the process exits with
 * `exitCode` (128 + the signal's number: 130 for SIGINT, 143 for SIGTERM), the code Node's own exit on that
 * signal has (see README "Signals and termination").
 */
export class SignalError extends Error {
  readonly code = 'ERR_CORIO_SIGNAL';
  /** The signal's number on this platform (2 for SIGINT, 15 for SIGTERM). */
  readonly signo: number;
  /** The exit code the process ends with if this error is not caught: 128 + signo. */
  readonly exitCode: number;
  constructor(readonly signal: StopSignal) {
    super(`Interrupted by ${signal}: the main task was cancelled and its finally blocks ran`);
    this.name = 'SignalError';
    this.signo = osConstants.signals[signal];
    this.exitCode = 128 + this.signo;
  }
}

let uncaughtSignalExitInstalled = false;

/**
 * Makes a SignalError that nobody catches end the process with its `exitCode` (130 / 143) instead of Node's
 * 1 for an uncaught error; Node still prints it. Installed once, the first time an entry point throws one.
 * Node calls 'uncaughtExceptionMonitor' listeners for every uncaught error (also an unhandled rejection,
 * which is fatal by default) before it decides; with no 'uncaughtException' listener the error is fatal,
 * and an 'exit' listener may still set the code Node then exits with. A caught SignalError changes nothing.
 */
export function exitWithSignalCodeIfUncaught(): void {
  if (uncaughtSignalExitInstalled) return;
  uncaughtSignalExitInstalled = true;
  let fatal: SignalError | undefined;
  process.on('uncaughtExceptionMonitor', (error) => {
    if (error instanceof SignalError && process.listenerCount('uncaughtException') === 0) fatal = error;
  });
  process.on('exit', () => {
    if (fatal !== undefined) process.exitCode = fatal.exitCode;
  });
}

/** Every task is waiting on something that can never happen: no ready task, no timer, no I/O in flight. */
export class DeadlockError extends Error {
  readonly code = 'ERR_CORIO_DEADLOCK';
  readonly waiting: readonly string[];
  constructor(waiting: readonly string[]) {
    super(
      `Deadlock: no task can make progress (no timers, no I/O in flight). Waiting:\n` +
        waiting.map((w) => `  - ${w}`).join('\n'),
    );
    this.name = 'DeadlockError';
    this.waiting = waiting;
  }
}

/** Raised by run() when tasks failed and nobody joined them: nothing is dropped silently. */
export class UnobservedErrors extends AggregateError {
  readonly code = 'ERR_CORIO_UNOBSERVED';
  constructor(errors: readonly { task: string; error: unknown }[]) {
    super(
      errors.map((e) => e.error),
      `${errors.length} task(s) failed and were never joined: ` +
        errors.map((e) => `'${e.task}' (${describeError(e.error)})`).join(', '),
    );
    this.name = 'UnobservedErrors';
  }
}

export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export function invalidArgType(name: string, expected: string, actual: unknown): TypeError {
  const err = new TypeError(`The "${name}" argument must be ${expected}. Received ${describeValue(actual)}`);
  (err as TypeError & { code: string }).code = 'ERR_INVALID_ARG_TYPE';
  return err;
}

export function outOfRange(name: string, range: string, actual: unknown): RangeError {
  const err = new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${describeValue(actual)}`);
  (err as RangeError & { code: string }).code = 'ERR_OUT_OF_RANGE';
  return err;
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'Object'}`;
  if (typeof value === 'string') return `type string ('${value.length > 28 ? value.slice(0, 25) + '...' : value}')`;
  return `type ${typeof value} (${String(value)})`;
}
