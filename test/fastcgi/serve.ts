/**
 * A tiny FastCGI server for tests and benches until (and besides) `tsgi serve --fastcgi`:
 *   node dist/test/fastcgi/serve.js APP[:export] ADDR [--mount /m] [--max-reqs N] [--read-timeout MS]
 *     [--max-params BYTES] [--no-multiplex] [--socket-mode OCTAL]
 * ADDR is HOST:PORT, a socket path, or fd:0. Prints "listening URL" lines on stdout once ready.
 */
import { parseArgs } from "node:util";
import { Gateway, Lifespan, parseListenTarget } from "../../src/index.ts";
import { loadApp } from "../../src/cli/loader.ts";
import { listen } from "../../adapters/fastcgi/index.ts";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    mount: { type: "string" },
    "max-reqs": { type: "string" },
    "read-timeout": { type: "string" },
    "max-params": { type: "string" },
    "no-multiplex": { type: "boolean" },
    "socket-mode": { type: "string" },
  },
});
const [appSpec, addr] = positionals;
const app = await loadApp(appSpec);
const lifespan = new Lifespan(app);
await lifespan.startup();
const gateway = new Gateway(app, { mount: values.mount, state: lifespan.state, multithread: true });
const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
const listener = await listen(gateway, parseListenTarget(addr ?? "fd:0"), {
  maxReqs: num(values["max-reqs"]),
  readTimeout: num(values["read-timeout"]),
  maxParamsSize: num(values["max-params"]),
  multiplex: !values["no-multiplex"],
  socketMode: values["socket-mode"] === undefined ? undefined : parseInt(values["socket-mode"], 8),
});
process.stdout.write(`listening ${listener.url}\n`);
const stop = () => void listener.close(2000).then(() => lifespan.shutdown()).then(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
