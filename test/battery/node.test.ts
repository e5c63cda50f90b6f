/**
 * The conformance battery against `tsgi serve` itself (Node's http adapter, or Bun's/Deno's
 * under TSGI_RUNTIME): at the root, under a mount, and on a unix socket.
 */
import { after, before, describe } from "node:test";
import { runBattery } from "../../src/testing/index.ts";
import { stopAndRemove, tempDir } from "../support/peers.ts";
import { BATTERY_APP, batteryUrl, runtimeLimits, serveVariants, startTsgi } from "./serve.ts";

const dir = tempDir("battery");
after(() => stopAndRemove(dir));

for (const v of serveVariants(dir)) {
  describe(`battery: tsgi serve (${v.name})`, () => {
    let url = "";
    before(async () => {
      url = batteryUrl((await startTsgi([BATTERY_APP, ...v.args])).urls[0]);
    });
    runBattery({ baseUrl: () => url, mount: v.mount, ...runtimeLimits() });
  });
}
