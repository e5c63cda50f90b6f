// The bench's backends, all serving the same 13-byte hello as a sync tsgi app:
//   node bench/fastcgi/hello.mjs fastcgi SOCKET   tsgi's FastCGI listener on a unix socket
//   node bench/fastcgi/hello.mjs http PORT        tsgi's node:http listener (for nginx proxy_pass)
import { Gateway } from "../../dist/src/index.js";
import { listen } from "../../dist/adapters/fastcgi/index.js";
import { serve } from "../../dist/adapters/node/index.js";

const body = "Hello, World!";
function hello(_environ, startResponse) {
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  return [body];
}
const [mode, where] = process.argv.slice(2);
if (mode === "fastcgi") {
  await listen(new Gateway(hello), { path: where }, { socketMode: 0o666 });
} else {
  await serve(hello, { listen: { host: "127.0.0.1", port: Number(where) }, keepAliveTimeout: 65 });
}
console.log(`hello: ${mode} on ${where}`);
