// start(): the hosted entry point. The same Loop, tasks, files and primitives as run(), driven from Node's
// own event loop instead of owning the thread (trio's guest mode; DESIGN.md "Drivers"). Each wake-up of the
// guest — its backend descriptor readable, its next timer due, a task made ready from outside — runs
// non-blocking iterations (Loop.runOnce, unchanged) back to back while tasks are ready or submissions are
// unflushed, for at most TURN_BUDGET_MS; then it flushes, so the kernel works while Node polls. Tasks still
// ready after the budget continue in a later turn via setImmediate, which Node runs after polling its own
// I/O, so neither side starves the other.
//
// run() against start():
//  - run() blocks the thread until main finishes: the fastest loop (what the benchmarks measure), but no
//    Promise settles and no Node timer or server callback runs until it returns.
//  - start() returns a Promise at once; corio's tasks and Node's callbacks interleave. until() waits for
//    Promises inside tasks and call() runs corio operations from Promise code (an HTTP handler).
//
// Shutdown is run()'s, spread over turns (phases below): when main ends, the remaining tasks are torn down
// (their finally blocks may still wait, on I/O or on Promises), files left open are closed, the I/O in
// flight is drained, then the Promise settles — with main's value, main's error, SignalError, or
// UnobservedErrors, exactly what run() would have returned or thrown.
import { hasActiveLoop, setActiveLoop } from './core/context.js';
import {
  CancelledError, CorioError, describeError, describeValue, exitWithSignalCodeIfUncaught, invalidArgType, SignalError,
  type StopSignal,
} from './core/errors.js';
import { withAbortSignal } from './concurrency/interop.js';
import { setIoTableSource } from './core/io.js';
import { Loop } from './core/loop.js';
import { toCoroutine, type Main } from './core/main.js';
import type { Operation } from './core/instruction.js';
import type { Task } from './core/task.js';
import { requestedBackend } from './drivers/backends.js';
import { HostedDriver } from './drivers/hosted.js';
import { SignalWatcher } from './drivers/signals.js';
import { actOnSignals, debugOptions, fileDefaults, traceOption, writeTrace, type RunOptions } from './run.js';

/**
 * start()'s options: run()'s, and `signal`. clock: 'virtual' jumps time when the guest is idle but for its
 * timers, as in run(); Node's own timers keep real time, so it is for tests of corio code, not of code
 * mixing both.
 */
export interface StartOptions extends RunOptions {
  /**
   * Cancels main when it aborts: main's finally blocks run (and may still wait), the other tasks are torn
   * down as when main ends, and start() rejects with a CancelledError whose `cause` is `signal.reason`
   * (unless main catches it and returns). The way out of a start() that would never finish, which keeps
   * the thread's loop (every later start() or run() fails with ERR_CORIO_NESTED_RUN meanwhile). An
   * already aborted signal rejects at once, before main runs, and takes nothing.
   */
  signal?: AbortSignal;
}

type Phase =
  | 'running'   // main has not finished
  | 'tearing'   // main finished: the other tasks are being torn down
  | 'draining'  // no task left: files closed, I/O in flight finishing
  | 'done';

/**
 * How long one turn of Node's loop may run guest iterations back to back, in ms. Node's own callbacks (an
 * HTTP request, a timer) wait at most about this long behind a busy guest; in exchange the guest pays for a
 * turn of Node's loop (~1 us, more when it polls I/O) once per budget instead of once per iteration. With
 * one iteration per turn, a hosted task switch ran at 0.13x run()'s rate; back to back it ran at 0.6-0.9x
 * (bench --quick, W5 switch, under load from other processes on 2 vCPUs). Budgets of 0.5, 1, 2 and 4 ms
 * gave the same W1-W3 and W5 rates within that run-to-run noise, so the budget is chosen for Node's side:
 * 1 ms, the resolution of Node's timers, so a busy guest adds no lateness a Node timer can show beyond
 * its own rounding. The HTTP server beside 10,000 hosted file writes (test/hosted.test.ts) answered
 * 380-520 requests/s with it, 300-640/s with one iteration per turn: Node is not starved.
 */
export const TURN_BUDGET_MS = 1;

/** The hosted loop of this thread, while one runs (call() and settled() find it here). */
let hosted: HostedRun | null = null;

class HostedRun {
  phase: Phase = 'running';
  readonly loop: Loop;
  readonly main: Task<unknown>;
  private readonly driver: HostedDriver;
  private readonly watcher: SignalWatcher | null;
  private stoppedBy: StopSignal | undefined;
  private readonly trace: ReturnType<typeof traceOption>;

  constructor(
    main: Main<unknown>,
    options: StartOptions,
    private readonly settle: (ok: boolean, value: unknown) => void,
  ) {
    // Checks first: nothing is taken until the driver is made.
    const signal = options.signal;
    const coroutine = toCoroutine(signal === undefined ? main : () => withAbortSignal(signal, main), 'start');
    const debug = debugOptions(options);
    const files = fileDefaults(options);
    this.trace = traceOption(options);
    const { kind } = requestedBackend(options.backend);
    if (typeof kind !== 'string' || kind === '') {
      throw new CorioError('ERR_INVALID_ARG_VALUE', `options.backend must be a backend name, got ${describeValue(kind)}`);
    }
    if (kind === 'sim') {
      // Said here, not as the binding's "unknown backend": the simulation exists, but only run() drives it
      // (libuv has no descriptor of it to watch, and its clock moves only when the loop waits on it).
      throw new CorioError('ERR_CORIO_BACKEND_UNAVAILABLE',
        "backend 'sim' runs under run() only: start() needs a native backend whose descriptor Node's loop can watch");
    }
    if (options.clock !== undefined && options.clock !== 'real' && options.clock !== 'virtual') {
      throw new CorioError('ERR_INVALID_ARG_VALUE', `options.clock must be 'real' or 'virtual', got ${describeValue(options.clock)}`);
    }
    this.driver = new HostedDriver(kind, options.native, () => this.turn(), options.clock);  // closes itself if it fails
    let loop: Loop | null = null;
    let watcher: SignalWatcher | null = null;
    try {
      loop = new Loop(this.driver, debug, this.trace?.recorder);
      loop.fileDefaults = files;
      const io = loop.io;
      setActiveLoop(loop);
      setIoTableSource(() => io);
      // Signals as in run() (README "Signals and termination"): the native watcher wakes the backend, so the
      // descriptor Node polls becomes readable and the next turn acts on the request.
      watcher = SignalWatcher.start(this.driver.io);
      this.main = loop.spawn(coroutine, options.name ?? 'main');
      this.main.observed = true;
      this.driver.kick();
    } catch (error) {
      // Whatever failed, the thread's loop slot and the backend are given back: a later start() or run()
      // must not find ERR_CORIO_NESTED_RUN, nor a descriptor leak.
      const untaken = watcher?.stop() ?? [];
      if (loop !== null) loop.close();  // closes the driver too
      else this.driver.close();
      setIoTableSource(null);
      setActiveLoop(null);
      hosted = null;
      for (const s of untaken) process.kill(process.pid, s);  // as finish() does: Node's handling now
      throw error;
    }
    this.loop = loop;
    this.watcher = watcher;
  }

  /**
   * One wake-up: iterations back to back (or shutdown steps) while the guest has work it can do now, bounded
   * by TURN_BUDGET_MS; then the last submissions go to the kernel and the next wake-up is planned.
   */
  private turn(): void {
    try {
      const turnStart = performance.now();
      let sinceCheck = 0;
      let checkEvery = 1;
      let checkedAt = turnStart;
      for (;;) {
        const submissions = this.loop.io.submissions;
        if (this.phase === 'draining') this.loop.pollCompletions();
        else this.loop.runOnce();
        if (this.phase === 'running' && this.watcher !== null && this.watcher.pending) {
          this.stoppedBy = actOnSignals(this.main, this.watcher, this.stoppedBy);
        }
        this.advance();
        if (this.phase === 'done') return;
        const submitted = this.loop.io.submissions !== submissions;
        // Work the guest can do at once: ready tasks, submissions only the next wait() hands to the kernel (a
        // flush-only call would not do: io_uring's and epoll's flush also reap what is ready into the
        // backend's own queue, where no descriptor shows it), or completions left over from a full batch.
        if (!this.loop.hasReady && !submitted && !this.driver.full) break;
        if (++sinceCheck < checkEvery) continue;
        const now = performance.now();
        if (now - turnStart >= TURN_BUDGET_MS) {
          // Out of budget: still hand this iteration's submissions to the kernel (or the pool) now, so they
          // run while Node polls its own I/O instead of waiting for the next turn. What the flush reaps is
          // dispatched here and its tasks run in the next turn.
          if (submitted) this.loop.pollCompletions();
          break;
        }
        // The clock costs ~60 ns, a quarter of a task switch: read it less often while iterations are
        // short, and after every iteration again as soon as they are not.
        checkEvery = now - checkedAt < TURN_BUDGET_MS / 32 ? Math.min(checkEvery * 2, 32) : 1;
        checkedAt = now;
        sinceCheck = 0;
      }
      const deadline = this.loop.timers.peekDeadline();
      this.driver.plan(
        this.loop.hasReady,
        deadline === undefined ? -1 : Math.max(0, deadline - this.loop.now()),
        this.loop.io.inFlight,
      );
    } catch (error) {
      this.finish(error);  // a bug in corio itself, or an error from the driver: still shut down cleanly
    }
  }

  private advance(): void {
    if (this.phase === 'running' && this.main.done) this.phase = 'tearing';
    if (this.phase === 'tearing') {
      // Repeated each turn for tasks that cleanup code spawned meanwhile (Loop.shutdown does the same).
      this.loop.teardownLive('start()');
      // A cleanup waiting on what nothing can bring about (no task, timer, I/O or until() Promise) is
      // cancelled again, as run() does; the tasks it makes ready run in the next turn. DeadlockError, when it
      // gives up, settles start() through turn()'s catch.
      this.loop.redeliverIfStalled('start()');
      if (this.loop.live.size > 0) return;
      this.loop.closeLeftOpenFiles();
      this.phase = 'draining';
    }
    if (this.phase === 'draining' && this.loop.io.inFlight === 0) this.finish(undefined);
  }

  private finish(loopError: unknown): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    let untaken: StopSignal[] = [];
    let closeError: unknown;
    try {
      this.loop.close();
    } catch (error) {
      closeError = error;
    } finally {
      if (this.watcher !== null) untaken = this.watcher.stop();
      setActiveLoop(null);
      hosted = null;
      if (this.trace?.path) writeTrace(this.trace.recorder, this.trace.path);
    }
    for (const signal of untaken) process.kill(process.pid, signal);  // as run() does: Node's handling now
    if (loopError !== undefined) return this.settle(false, loopError);
    if (closeError !== undefined) return this.settle(false, closeError);
    if (this.stoppedBy !== undefined && this.main.outcome === 'cancelled') {
      exitWithSignalCodeIfUncaught();
      return this.settle(false, new SignalError(this.stoppedBy));
    }
    let value: unknown;
    try {
      value = this.main.result();
    } catch (error) {
      return this.settle(false, error);
    }
    const unobserved = this.loop.unobservedErrors();
    if (unobserved) return this.settle(false, unobserved);
    this.settle(true, value);
  }
}

/**
 * Runs `main` on a corio loop that is a guest in Node's event loop and returns a Promise of main's value.
 * Node's timers, sockets and Promises keep running meanwhile; inside tasks, until() waits for Promises, and
 * call() runs operations on this loop from outside. Rejects with what run() would throw. One loop per
 * thread: start() while a loop runs (hosted or run()) rejects with ERR_CORIO_NESTED_RUN; `options.signal`
 * cancels main (see StartOptions).
 */
export function start<T>(main: Main<T>, options: StartOptions = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (hasActiveLoop()) {
      throw new CorioError('ERR_CORIO_NESTED_RUN',
        'start() was called while a corio loop runs on this thread: use spawn(), or call() from outside a task');
    }
    const signal = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidArgType('options.signal', 'an AbortSignal', signal);
    if (signal?.aborted) {
      const error = new CancelledError(`start() was cancelled by an AbortSignal before main ran: ${describeError(signal.reason)}`);
      (error as Error & { cause?: unknown }).cause = signal.reason;
      throw error;
    }
    hosted = new HostedRun(main as Main<unknown>, options, (ok, value) => (ok ? resolve(value as T) : reject(value)));
  });
}

function runningHost(what: string): HostedRun {
  if (hosted === null || hosted.phase !== 'running') {
    throw new CorioError('ERR_CORIO_NOT_HOSTED',
      `${what} needs a hosted corio loop: start the program with start() (run() owns the thread, so no Promise code runs beside it)`);
  }
  return hosted;
}

/**
 * Runs `operation` as a new task on the running hosted loop and returns a Promise of its value (or its
 * error). For Promise code beside corio — an HTTP handler: `await call(writeLog(entry))`. The task is a
 * child of the loop like any spawn(): if main ends first, it is cancelled and the Promise rejects with
 * CancelledError. Rejects with ERR_CORIO_NOT_HOSTED when no hosted loop runs.
 */
export function call<T>(operation: Main<T>): Promise<T> {
  try {
    const host = runningHost('call()');
    const task = host.loop.spawn(toCoroutine(operation, 'call'), 'call');
    host.loop.kick();
    return settled(task);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * A Promise of a task's outcome: its value, or its error (CancelledError if it was cancelled). Counts as
 * joining it: its failure is not reported as unobserved.
 */
export function settled<T>(task: Task<T>): Promise<T> {
  task.observed = true;
  return new Promise<T>((resolve, reject) => {
    task.watch({
      taskEnded: () => {
        try {
          resolve(task.result());
        } catch (error) {
          reject(error);
        }
      },
    });
  });
}

export type { Operation };
