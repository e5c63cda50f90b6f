// A tsgi listener without the CLI, for profiling the adapter alone (the bench itself runs
// `tsgi serve bench/uwsgi/app.mjs`):
//   node --cpu-prof bench/uwsgi/hello.mjs uwsgi SOCKET     tsgi's uwsgi listener
//   node --cpu-prof bench/uwsgi/hello.mjs fastcgi SOCKET   tsgi's FastCGI listener
// SIGTERM exits through process.exit, so --cpu-prof writes its profile.
import { chmodSync } from "node:fs";
import { Gateway } from "../../dist/src/index.js";
import hello from "./app.mjs";

const [mode, where] = process.argv.slice(2);
const { listen } = await import(mode === "uwsgi" ? "../../dist/adapters/uwsgi/index.js" : "../../dist/adapters/fastcgi/index.js");
await listen(new Gateway(hello), { path: where });
chmodSync(where, 0o666);
process.on("SIGTERM", () => process.exit(0));
console.log(`hello: ${mode} on ${where}`);
