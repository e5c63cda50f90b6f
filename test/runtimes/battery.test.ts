/**
 * The conformance battery against tsgi/bun and tsgi/deno, each on its own runtime, serving the
 * battery's reference app over TCP.
 */
import { join } from "node:path";
import { after, before, describe } from "node:test";
import { runBattery } from "../../src/testing/index.ts";
import { start, stopAll } from "../support/process.ts";
import { ROOT } from "../support/runtime.ts";
import { RUNTIMES, runtimeBin, waitForLine } from "./spawn.ts";

const FIXTURE = join(ROOT, "test/runtimes/fixtures/serve-app.ts");
const APP = join(ROOT, "src/testing/battery/app.ts");

after(stopAll);

/** What the runtimes cannot do, each with the reason (docs/runtimes.md has the same table). */
export const LIMITS = {
  bun: {
    capabilities: { http10: "Bun.serve does not expose the request's HTTP version: SERVER_PROTOCOL is always HTTP/1.1" },
  },
  deno: {
    capabilities: { http10: "Deno.serve does not expose the request's HTTP version: SERVER_PROTOCOL is always HTTP/1.1" },
    skip: { "response-status-418": "Deno.serve writes its own reason phrase (\"I'm a teapot\"), ignoring Response.statusText" },
  },
};

for (const rt of RUNTIMES) {
  const bin = runtimeBin(rt);
  describe(`battery: tsgi/${rt}`, { skip: bin === null ? `${rt} is not installed (npm install installs it)` : false }, () => {
    let url = "";
    before(async () => {
      const [cmd, args] = bin!(FIXTURE, [APP, "127.0.0.1:0"]);
      url = JSON.parse(await waitForLine(start(cmd, args), /^\{.*\}$/m)).url;
    });
    runBattery({ baseUrl: () => url, ...LIMITS[rt] });
  });
}
