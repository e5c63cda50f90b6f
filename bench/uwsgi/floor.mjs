// The floor under any uwsgi listener on Node: accept a connection from nginx, read the packet,
// write a fixed hello and close, on the raw libuv handle as tsgi's listener does
// (adapters/node/native.ts), with no parsing, no environ, no app. Its ratio to uWSGI+Python is
// the best a Node uwsgi backend can reach. usage: node floor.mjs SOCKET_PATH
import { chmodSync } from "node:fs";
import { createServer } from "node:net";
import { native } from "../../dist/adapters/node/native.js";

const RESPONSE = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
const nat = native();
if (nat === null) {
  console.error("floor: this Node lacks the stream_wrap internals tsgi's raw path uses");
  process.exit(1);
}
const buf = Buffer.allocUnsafe(65536);
function closeAfter() { this.owner.close(); }
function answer(handle) {
  // 1: libuv still holds bytes; close once they are out.
  if (nat.write(handle, RESPONSE, null, closeAfter, handle) !== 1) handle.close();
}
class Waiting {
  constructor(handle) { this.handle = handle; }
  rawData() { this.handle.readStop(); answer(this.handle); }
  rawEnd() { this.handle.close(); }
  rawError() { this.handle.close(); }
}
const path = process.argv[2];
const server = createServer();
server.listen(path, () => {
  chmodSync(path, 0o666);
  nat.takeOver(server, (handle) => {
    const n = nat.readNow(handle, buf);
    if (n > 0) return answer(handle);
    if (n !== -1) return handle.close();
    nat.read(handle, new Waiting(handle));
  });
  console.log(`floor listening on ${path}`);
});
// Exit through process.exit, so that `node --cpu-prof` writes its profile.
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(0));
