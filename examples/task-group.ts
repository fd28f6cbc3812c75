// A task group: one child fails, so its siblings are cancelled and the group throws only the failure.
import { run, taskGroup, sleep, TaskGroupError } from 'corio';

run(function* () {
  try {
    yield* taskGroup(function* (group) {
      group.spawn(function* () {
        try {
          yield* sleep(1000);
        } finally {
          console.log('sleeper cleaned up');
        }
      });
      group.spawn(function* () {
        yield* sleep(10);
        throw new Error('disk on fire');
      });
    });
  } catch (e) {
    if (e instanceof TaskGroupError) console.log('group failed with:', e.errors.map((x) => (x as Error).message));
  }
});
