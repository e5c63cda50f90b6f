// The uwsgi bench's tsgi backends, serving the same 13-byte hello as a sync tsgi app (the
// equivalent of hello_wsgi.py), each on a unix socket for nginx:
//   node bench/uwsgi/hello.mjs uwsgi SOCKET     tsgi's uwsgi listener
//   node bench/uwsgi/hello.mjs fastcgi SOCKET   tsgi's FastCGI listener (if built)
import { chmodSync } from "node:fs";
import { Gateway } from "../../dist/src/index.js";

const BODY = "Hello, World!";
const HEADERS = [["Content-Type", "text/plain"], ["Content-Length", String(BODY.length)]];
function hello(_environ, startResponse) {
  startResponse("200 OK", HEADERS);
  return [BODY];
}
const [mode, where] = process.argv.slice(2);
const { listen } = await import(mode === "uwsgi" ? "../../dist/adapters/uwsgi/index.js" : "../../dist/adapters/fastcgi/index.js");
await listen(new Gateway(hello), { path: where });
chmodSync(where, 0o666);
console.log(`hello: ${mode} on ${where}`);
