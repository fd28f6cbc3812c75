// Cancellation: the task's finally block still runs (and may yield*) to close its file.
import { run, spawn, open, sleep, CancelledError } from 'corio';

run(function* () {
  const writer = spawn(function* () {
    const file = yield* open('/tmp/corio-cancel-example.log', 'w');
    try {
      for (let i = 0; ; i++) {
        yield* file.write(`line ${i}\n`);
        yield* sleep(10);
      }
    } finally {
      yield* file.close();                 // runs after the cancel, and may still suspend
      console.log('writer closed its file');
    }
  }, { name: 'writer' });

  yield* sleep(35);
  writer.cancel();                         // CancelledError is thrown where the writer is suspended
  try {
    yield* writer;
  } catch (e) {
    console.log('writer ended with', (e as Error).name, e instanceof CancelledError);
  }
});
