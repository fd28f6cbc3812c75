// A bounded queue between producers and a consumer: producers wait while it is full.
import { run, taskGroup, Queue, Semaphore, sleep } from 'corio';

run(function* () {
  const queue = new Queue<string>(2);       // maxsize 2
  const limit = new Semaphore(1);           // one consumer at a time in the critical section
  const seen: string[] = [];
  yield* taskGroup(function* (group) {
    for (const name of ['a', 'b']) {
      group.spawn(function* () {
        for (let i = 0; i < 3; i++) yield* queue.put(`${name}${i}`);
      });
    }
    group.spawn(function* () {
      for (let i = 0; i < 6; i++) {
        const item = yield* queue.get();
        yield* limit.with(function* () {
          yield* sleep(1);
          seen.push(item);
        });
      }
    });
  });
  console.log('consumed', seen.length, 'items:', seen.join(' '));
});
