// Replacing a file atomically: readers (and a crash at any moment) see the old or the new content, never a mix.
import { run, writeFileAtomic, readFile, mkdir, readdir, rm } from 'corio';

run(function* () {
  const dir = '/tmp/corio-atomic-example';
  yield* mkdir(dir, { recursive: true });
  yield* writeFileAtomic(`${dir}/config.json`, JSON.stringify({ version: 1 }));
  yield* writeFileAtomic(`${dir}/config.json`, JSON.stringify({ version: 2 }));
  console.log((yield* readFile(`${dir}/config.json`, 'utf8')), (yield* readdir(dir)).join(','));
  yield* rm(dir, { recursive: true });
});
