// An HTTP server whose handlers write through corio: start() runs corio as a guest in Node's loop, so the
// server answers while corio works, and call() runs a corio operation from a handler as a Promise.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { start, call, until, open, readFile } from 'corio';

const path = '/tmp/corio-http-example.log';

await start(function* () {
  const log = yield* open(path, 'w');
  const server = createServer(async (req, res) => {
    await call(log.write(`${req.method} ${req.url}\n`));   // resolves once corio has written the line
    res.end('logged\n');
  });
  try {
    yield* until(new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)));
    const { port } = server.address() as AddressInfo;
    for (const page of ['/a', '/b', '/c']) {
      const body = yield* until(fetch(`http://127.0.0.1:${port}${page}`).then((r) => r.text()));
      console.log(`${page}: ${body.trim()}`);
    }
  } finally {
    server.closeAllConnections();          // fetch keeps connections alive; close them with the server
    server.close();
    yield* log.close();
  }
  console.log((yield* readFile(path, 'utf8')).trim().split('\n').join(', '));
});
