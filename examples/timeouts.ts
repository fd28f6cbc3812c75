// Timeouts: withTimeout fails after the deadline, moveOnAfter gives up quietly. Virtual time: no real waiting.
import { run, withTimeout, moveOnAfter, sleep, now, TimeoutError } from 'corio';

run(function* () {
  const quick = yield* moveOnAfter(100, function* () {
    yield* sleep(3_600_000);                // an hour…
    return 'finished';
  });
  console.log('moveOnAfter gave', quick, 'at', now(), 'ms');

  try {
    yield* withTimeout(50, function* () {
      yield* sleep(60_000);
    });
  } catch (e) {
    console.log(e instanceof TimeoutError ? `timed out after ${e.ms} ms` : 'other error');
  }
}, { clock: 'virtual' });                  // …runs in microseconds on the virtual clock
