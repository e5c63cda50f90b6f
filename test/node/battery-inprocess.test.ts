/** The battery against adapters/node's serve(), in process (the CLI path is test/battery/node.test.ts). */
import { after, before, describe } from "node:test";
import { serve, type RunningServer } from "../../adapters/node/index.ts";
import { referenceApp, runBattery } from "../../src/testing/index.ts";

describe("battery: adapters/node serve() in process", () => {
  let server: RunningServer;
  before(async () => {
    server = await serve(referenceApp, { listen: { host: "127.0.0.1", port: 0 }, log: () => {} });
  });
  after(() => server.close());
  runBattery({ baseUrl: () => server.urls[0] });
});
