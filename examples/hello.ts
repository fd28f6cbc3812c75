// The README's example program, kept as a file so a test runs it (test/examples.test.ts).
import { run, spawn, open, readFile, sleep, backend } from 'corio';

const total = run(function* () {
  console.log('backend:', backend().name);          // 'uring' or 'epoll'
  const tasks = [1, 2, 3].map((n) =>
    spawn(function* () {
      const file = yield* open(`/tmp/corio-example-${n}.txt`, 'w');
      try {
        yield* file.write(`hello from task ${n}\n`);
        yield* file.write('appended at the current position\n');
        yield* file.datasync();
      } finally {
        yield* file.close();                         // finally blocks may yield*, even when cancelled
      }
      yield* sleep(10);
      return (yield* readFile(`/tmp/corio-example-${n}.txt`, 'utf8')).length;
    }, { name: `writer-${n}` }),
  );
  let sum = 0;
  for (const t of tasks) sum += yield* t;           // join: the task's value, or its error thrown here
  return sum;
});
console.log(total);
