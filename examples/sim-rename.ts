// Crash-testing a config writer: write a temporary file, rename it over the old one. Without a sync the
// rename can reach the disk before the data does, and a crash leaves an empty config. simulate() finds it.
import { simulate, open, rename, readFile, type SimContext } from 'corio';

function* saveConfig(sync: boolean) {
  const file = yield* open('/app/config.json.tmp', 'w');
  yield* file.write(JSON.stringify({ version: 2 }));
  if (sync) yield* file.sync();  // the data is durable before the rename can be
  yield* file.close();
  yield* rename('/app/config.json.tmp', '/app/config.json');
  if (sync) {
    const dir = yield* open('/app', 'r');
    yield* dir.sync();  // and the rename itself is durable
    yield* dir.close();
  }
}

const options = {
  seeds: 20,
  crashes: 'each' as const,
  initial: { app: { 'config.json': JSON.stringify({ version: 1 }) } },
  // After any crash the config must be the old one or the new one, whole.
  *check() {
    const text = yield* readFile('/app/config.json', 'utf8');
    const { version } = JSON.parse(text);
    if (version !== 1 && version !== 2) throw new Error(`config has version ${version}`);
  },
};

const wrong = simulate(function* (_: SimContext) { yield* saveConfig(false); }, options);
const first = wrong.failures[0];
console.log(`without sync: ${wrong.failures.length} failing crash points; first: seed ${first.seed}, crash point ${first.crashPoint} (${first.operation})`);
const right = simulate(function* (_: SimContext) { yield* saveConfig(true); }, options);
console.log(`with sync: ${right.ok ? 'every' : 'NOT every'} crash point of ${right.crashPoints} passed`);
