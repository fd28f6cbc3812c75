// Crash-testing an append log: a record acknowledged after write() alone is only in the page cache, and a
// crash loses it. The fixed log calls datasync() before it acknowledges (group commit shares those calls).
import { simulate, open, readFile, taskGroup, type SimContext } from 'corio';

function logWriter(durable: boolean) {
  return function* (sim: SimContext) {
    const log = yield* open('/var/app.log', 'a');
    try {
      yield* taskGroup(function* (group) {
        for (let i = 0; i < 4; i++) {
          group.spawn(function* () {
            yield* log.write(`record ${i}\n`);
            if (durable) yield* log.datasync();
            sim.note(`record ${i}`);  // acknowledged to the client: it must survive a crash
          });
        }
      });
    } finally {
      yield* log.close();
    }
  };
}

const options = {
  seeds: 10,
  initial: { var: { 'app.log': '' } },
  *check({ notes }: { notes: readonly unknown[] }) {
    const lines = (yield* readFile('/var/app.log', 'utf8')).split('\n');
    for (const record of notes) if (!lines.includes(record as string)) throw new Error(`acknowledged ${record} is lost`);
  },
};

const trusting = simulate(logWriter(false), options);
console.log(`write only: ${trusting.ok ? 'passed' : `caught: ${(trusting.failures[0].error as Error).message}`}`);
const syncing = simulate(logWriter(true), options);
console.log(`write + datasync: ${syncing.ok ? `passed all ${syncing.crashPoints} crash points` : syncing.describe()}`);
