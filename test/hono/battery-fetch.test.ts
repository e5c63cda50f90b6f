/**
 * The conformance battery through a fetch app under `tsgi serve` (fixtures/battery-fetch.ts):
 * on Node that is @hono/node-server's listener on tsgi's node:http listener (adapters/hono/
 * node.ts), on Bun and Deno their native fetch pass-through. At the root, under a mount, and on
 * a unix socket, as test/battery/node.test.ts does for the sync app.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runBattery } from "../../src/testing/index.ts";
import { stopAndRemove, tempDir } from "../support/peers.ts";
import { ROOT, runtime } from "../support/runtime.ts";
import { batteryUrl, runtimeLimits, serveVariants, startTsgi } from "../battery/serve.ts";
import { fetchRaw } from "../runtimes/client.ts";

const APP = join(ROOT, "test/hono/fixtures/battery-fetch.ts");
const dir = tempDir("hono-battery");
after(() => stopAndRemove(dir));

for (const v of serveVariants(dir)) {
  describe(`battery: a fetch app on tsgi serve (${runtime()}, ${v.name})`, () => {
    let url = "";
    before(async () => {
      url = (await startTsgi([APP, ...v.args])).urls[0];
    });
    if (v.name === "TCP, root") {
      test("the carrier is the runtime's fast one", async () => {
        const r = await fetchRaw(url, "/.carrier");
        const want = runtime() === "node" ? "@hono/node-server" : "Request";
        assert.equal(r.body.toString(), want);
      });
    }
    runBattery({ baseUrl: () => batteryUrl(url), mount: v.mount, ...runtimeLimits() });
  });
}
