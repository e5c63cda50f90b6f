/**
 * A stand-in for `tsgi serve APP --uwsgi ADDR [--mount M]` until the CLI has --uwsgi: serves
 * one export of a module on the uwsgi listener. Prints `listening URL` when ready; SIGTERM stops.
 *
 *   node dist/test/uwsgi/serve.js FILE.js[:export] ADDR [--mount M]
 */
import { pathToFileURL } from "node:url";
import { Gateway, Lifespan, parseListenTarget, type App } from "../../src/index.ts";
import { listen } from "../../adapters/uwsgi/index.ts";

const [spec, addr, ...rest] = process.argv.slice(2);
if (!spec || !addr) {
  process.stderr.write("usage: serve FILE[:export] ADDR [--mount M]\n");
  process.exit(2);
}
const colon = spec.lastIndexOf(":");
const [file, name] = colon > 1 ? [spec.slice(0, colon), spec.slice(colon + 1)] : [spec, "default"];
const mountAt = rest.indexOf("--mount");
const mount = mountAt >= 0 ? rest[mountAt + 1] : undefined;
const log = (line: string) => process.stderr.write(`tsgi: ${line}\n`);

const app = (await import(pathToFileURL(file).href))[name] as App;
const lifespan = new Lifespan(app, log);
await lifespan.startup();
const listener = await listen(new Gateway(app, { mount, log, state: lifespan.state }), parseListenTarget(addr), { socketMode: 0o666 });
process.stdout.write(`listening ${listener.url}\n`);
process.once("SIGTERM", async () => {
  await listener.close(2000);
  await lifespan.shutdown();
  process.exit(0);
});
