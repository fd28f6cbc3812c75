// The loop running on this thread. A module of its own so primitives (timeouts, groups, queues) can reach
// the loop without importing run.ts, which imports them.
import { CorioError } from './errors.js';
import type { Loop } from './loop.js';

let activeLoop: Loop | null = null;

export function setActiveLoop(loop: Loop | null): void {
  activeLoop = loop;
}

export function hasActiveLoop(): boolean {
  return activeLoop !== null;
}

/** The loop running on this thread; throws a clear error when called outside run(). */
export function currentLoop(): Loop {
  if (activeLoop === null) {
    throw new CorioError('ERR_CORIO_NO_LOOP', 'No corio loop is running: call this inside a task started by run()');
  }
  return activeLoop;
}
