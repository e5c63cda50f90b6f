/**
 * Direction (b): examples/hono-app.ts, unchanged, as a tsgi app under tsgi's servers. Each
 * carrier runs the same checks (checks.ts). The in-process node:http carrier always runs; the
 * others start real processes through test/support/runtime.ts, so the runtime matrix reruns
 * this file under Bun and Deno.
 */
import { after, before, describe, test } from "node:test";
import { serve } from "../../adapters/node/index.ts";
import app from "../../examples/hono-app.ts";
import { stopAll } from "../support/process.ts";
import { honoChecks, type Carrier } from "./checks.ts";

after(stopAll);

describe("Hono app on tsgi/node (in process)", () => {
  let carrier: Carrier;
  let close: () => Promise<void>;
  before(async () => {
    const s = await serve(app, { listen: { host: "127.0.0.1", port: 0 }, log: () => {} });
    close = s.close;
    carrier = { base: s.urls[0], prefix: "", remoteAddr: "127.0.0.1" };
  });
  after(() => close());
  for (const [name, check] of Object.entries(honoChecks)) test(name, () => check(carrier));
});
