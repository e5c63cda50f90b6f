/**
 * The conformance battery through a fetch app under `tsgi serve` (fixtures/battery-fetch.ts):
 * on Node that is @hono/node-server's listener on tsgi's node:http listener (adapters/hono/
 * node.ts), on Bun and Deno their native fetch pass-through. At the root, under a mount, and on
 * a unix socket, as test/battery/node.test.ts does for the sync app.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runBattery } from "../../src/testing/index.ts";
import { stopAll } from "../support/process.ts";
import { ROOT, runtime } from "../support/runtime.ts";
import { batteryUrl, runtimeLimits, startTsgi } from "../battery/serve.ts";
import { fetchRaw } from "../runtimes/client.ts";

const APP = join(ROOT, "test/hono/fixtures/battery-fetch.ts");
const dir = mkdtempSync(join(tmpdir(), "tsgi-hono-battery-"));
after(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

const variants: { name: string; args: string[]; mount?: string }[] = [
  { name: "TCP, root", args: ["--http", "127.0.0.1:0"] },
  { name: "TCP, mounted at /app", args: ["--http", "127.0.0.1:0", "--mount", "/app"], mount: "/app" },
  { name: "unix socket, mounted at /deep/mount", args: ["--http", join(dir, "tsgi.sock"), "--mount", "/deep/mount"], mount: "/deep/mount" },
];

for (const v of variants) {
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
