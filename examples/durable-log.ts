// Durable appends from many tasks: writes are coalesced and datasync calls are shared (group commit),
// and every record is durable when its datasync returns.
import { run, open, taskGroup } from 'corio';

run(function* () {
  const log = yield* open('/tmp/corio-durable-example.log', 'w');
  yield* taskGroup(function* (group) {
    for (let i = 0; i < 32; i++) {
      group.spawn(function* () {
        yield* log.write(`record ${i}\n`);
        yield* log.datasync();                 // returns once this record is on stable storage
      });
    }
  });
  const { syncCallers, syncCalls } = log.batching;
  console.log(`${syncCallers} datasync callers shared ${syncCalls < syncCallers ? 'fewer' : 'as many'} system calls`);
  yield* log.close();
});
