// fetch with cancellation: until() hands the request an AbortSignal, and cancelling the task aborts it, so
// the connection closes instead of waiting for an answer that never comes.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { start, spawn, until, settled } from 'corio';

let arrived!: () => void;
const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
let sawClose!: () => void;
const connectionClosed = new Promise<void>((resolve) => (sawClose = resolve));
const server = createServer((req) => {                // never answers
  req.socket.on('close', sawClose);
  arrived();
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slow`;

await start(function* () {
  const request = spawn(function* () {
    return yield* until((signal) => fetch(url, { signal }).then((r) => r.text()));
  });
  yield* until(requestArrived);
  request.cancel();                                   // aborts the fetch's signal
  const outcome = yield* until(settled(request).catch((e: Error) => e.name));
  console.log(`the request ended with ${outcome}`);
  yield* until(connectionClosed);
  console.log('the server saw the connection close');
});
server.closeAllConnections();                         // fetch may keep a connection open for reuse
server.close();
