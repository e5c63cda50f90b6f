/**
 * The conformance battery against `tsgi serve` itself (Node's http adapter, or Bun's/Deno's
 * under TSGI_RUNTIME): at the root, under a mount, and on a unix socket.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe } from "node:test";
import { runBattery } from "../../src/testing/index.ts";
import { stopAll } from "../support/process.ts";
import { BATTERY_APP, batteryUrl, runtimeLimits, startTsgi } from "./serve.ts";

const dir = mkdtempSync(join(tmpdir(), "tsgi-battery-"));
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
  describe(`battery: tsgi serve (${v.name})`, () => {
    let url = "";
    before(async () => {
      url = batteryUrl((await startTsgi([BATTERY_APP, ...v.args])).urls[0]);
    });
    runBattery({ baseUrl: () => url, mount: v.mount, ...runtimeLimits() });
  });
}
