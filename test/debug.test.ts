// Task identity and debugging: names, currentTask(), slow-step reports naming the task and where it resumed,
// and a dump of every live task with where it is suspended.
import { describe, expect, it } from 'vitest';
import { currentTask, dumpTasks, run, sleep, spawn, yieldNow, type SlowStep } from '../src/index.js';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('debugging', () => {
  it('currentTask() names the running task', () => {
    const names = run(function* () {
      const t = spawn(function* () {
        yield* yieldNow();
        return currentTask().name;
      }, { name: 'worker-7' });
      return [currentTask().name, yield* t];
    });
    expect(names).toEqual(['main', 'worker-7']);
  });

  it('debug mode reports a step that runs longer than the threshold, with the task and where it resumed', () => {
    const reports: SlowStep[] = [];
    run(function* () {
      yield* spawn(function* () {
        yield* sleep(1);  // the step after this suspension is the slow one
        busy(150);
      }, { name: 'hog' });
      // A threshold far above an ordinary step, which under Wine can take over 20 ms (a first run of code).
    }, { debug: { slowStepMs: 75, onSlowStep: (r) => reports.push(r) } });
    const hog = reports.filter((r) => r.task === 'hog');
    expect(hog.length).toBe(1);
    expect(hog[0].ms).toBeGreaterThanOrEqual(75);
    expect(hog[0].resumedAt).toContain('debug.test.ts');  // points into the user's code
  });

  it('without debug mode nothing is reported and no stacks are captured', () => {
    const before = process.env.CORIO_DEBUG;
    delete process.env.CORIO_DEBUG;
    try {
      const reports: SlowStep[] = [];
      const dump = run(function* () {
        spawn(function* () {
          yield* sleep(1000);
        }, { name: 'sleeper' });
        yield* yieldNow();
        return dumpTasks();
      }, { clock: 'virtual' });
      expect(reports).toEqual([]);
      expect(dump).toContain("'sleeper' waiting on sleep(1000)");
      expect(dump).not.toContain('debug.test.ts');
    } finally {
      if (before !== undefined) process.env.CORIO_DEBUG = before;
    }
  });

  it('dumpTasks lists every live task with what it waits on and, in debug mode, where', () => {
    const dump = run(function* () {
      spawn(function* () {
        yield* sleep(1000);
      }, { name: 'napper' });
      spawn(function* () {
        yield* (function* nestedHelper() {
          yield* sleep(2000);
        })();
      }, { name: 'helper-user' });
      yield* yieldNow();
      return dumpTasks();
    }, { clock: 'virtual', debug: true });
    expect(dump).toContain("'napper' waiting on sleep(1000)");
    expect(dump).toContain("'helper-user' waiting on sleep(2000)");
    expect(dump).toContain('nestedHelper');
    expect(dump).toContain("'main' running");
    // The frames shown are the user's: corio's own suspension machinery is trimmed from every stack.
    expect(dump).not.toMatch(/[\\/]core[\\/](instruction|task|loop)\.[jt]s/);
  });

  it('CORIO_DEBUG=<ms> turns debug mode on from the environment', () => {
    const before = process.env.CORIO_DEBUG;
    process.env.CORIO_DEBUG = '15';
    const errors: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void errors.push(args.join(' '));
    try {
      run(function* () {
        yield* spawn(function* () {
          yield* yieldNow();
          busy(25);
        }, { name: 'env-hog' });
      });
    } finally {
      console.error = original;
      if (before === undefined) delete process.env.CORIO_DEBUG;
      else process.env.CORIO_DEBUG = before;
    }
    expect(errors.some((e) => e.includes("task 'env-hog' ran") && e.includes('without yielding'))).toBe(true);
  });
});
