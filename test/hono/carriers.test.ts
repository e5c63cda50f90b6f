/**
 * Direction (b): examples/hono-app.ts, unchanged, as a tsgi app under tsgi's servers. Each
 * carrier runs the same checks (checks.ts). The in-process node:http carrier always runs; the
 * others start real processes through test/support/runtime.ts, so the runtime matrix reruns
 * this file under Bun and Deno.
 */
import { after, before, describe, test } from "node:test";
import { serve } from "../../adapters/node/index.ts";
import app from "../../examples/hono-app.ts";
import * as fcgi from "../fastcgi/peers.ts";
import { peer, startBackend, startNginx, stopAndRemove, tempDir } from "../support/peers.ts";
import { freePort } from "../support/process.ts";
import { ROOT, runtime, tsgiCommand } from "../support/runtime.ts";
import * as uwsgi from "../uwsgi/peers.ts";
import { honoChecks, type Carrier } from "./checks.ts";

const APP = "examples/hono-app.ts";
const dir = tempDir("hono-carriers");
after(() => stopAndRemove(dir));

/** Register every check against a carrier that `setup` starts. */
function carrier(name: string, setup: () => Promise<Carrier>, skip: string | false = false): void {
  describe(name, { skip }, () => {
    let c: Carrier;
    before(async () => {
      c = await setup();
    });
    for (const [check, fn] of Object.entries(honoChecks)) test(check, () => fn(c));
  });
}

let closeInProcess: (() => Promise<void>) | null = null;
after(() => closeInProcess?.());
carrier("Hono app on tsgi/node (in process)", async () => {
  const s = await serve(app, { listen: { host: "127.0.0.1", port: 0 }, log: () => {} });
  closeInProcess = s.close;
  return { base: s.urls[0], prefix: "", remoteAddr: "127.0.0.1" };
});

carrier(`Hono app on tsgi serve --http (${runtime()})`, async () => {
  const addr = `127.0.0.1:${await freePort()}`;
  await startBackend(tsgiCommand(["serve", `${ROOT}/${APP}`, "--http", addr]), addr);
  return { base: `http://${addr}`, prefix: "", remoteAddr: "127.0.0.1" };
});

const nginx = peer("nginx");

carrier(`Hono app behind nginx, FastCGI (${runtime()})`, async () => {
  const b = await fcgi.backend(dir, "tcp", APP);
  const front = await startNginx(nginx.bin, dir, "nginx-fastcgi.conf", { LOCATION: "/", MOUNT: "", BACKEND: b.addr }, "fastcgi_params");
  return { base: front.baseUrl, prefix: "", remoteAddr: "127.0.0.1" };
}, nginx.skip);

carrier(`Hono app behind nginx, uwsgi (${runtime()})`, async () => {
  const b = await uwsgi.backend(dir, "unix", APP);
  const front = await startNginx(nginx.bin, dir, "nginx-uwsgi.conf", { LOCATION: "/", BACKEND: b.pass }, "uwsgi_params");
  return { base: front.baseUrl, prefix: "", remoteAddr: "127.0.0.1" };
}, nginx.skip);
