/**
 * tsgi's uwsgi listener behind uWSGI's own HTTP router (`uwsgi --http ... --http-to ...`,
 * examples/deploy/uwsgi-http-router.ini), a uwsgi client that relays our response bytes
 * verbatim: the conformance battery at / and under a mount, over TCP and a unix socket.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { runBattery, type BatteryOptions } from "../../src/testing/battery/index.ts";
import { requirePeer, stopAll } from "../support/process.ts";
import { backend, CORE_SKIPS, http, startRouter, tempDir, UNIX_SKIPS, type Front } from "./peers.ts";

const uwsgi = requirePeer("uwsgi", "uwsgi");
const BATTERY_APP = "src/testing/battery/app.ts";

/** What the router in front makes impossible or different, with the reason. */
function routerSkips(transport: "tcp" | "unix"): Pick<BatteryOptions, "capabilities" | "skip"> {
  return {
    capabilities: {
      keepAlive: "the router closes the client connection after each response unless --http-keepalive (off in the example)",
      pipelining: "the router closes the client connection after each response (no keep-alive)",
      chunkedRequest: "the router forwards chunked request bodies raw unless --http-chunked-input; a uwsgi body needs CONTENT_LENGTH",
      continue100: "the router does not answer Expect: 100-continue itself",
    },
    skip: {
      ...CORE_SKIPS,
      ...(transport === "unix" ? UNIX_SKIPS : {}),
      "header-cookie-repeated": "the router joins repeated Cookie lines with \", \" into one HTTP_COOKIE var",
      "header-underscore-dropped": "the router passes header names containing _ (X_Forwarded_User arrives as HTTP_X_FORWARDED_USER); tsgi only sees the var name and cannot tell",
      "header-whitespace": "the router keeps trailing whitespace in header values",
      "error-throw-after-first-chunk": "the router relays our bytes verbatim and closes the client connection when we reset: a response without Content-Length then looks complete",
      "close-after-error": "the router turns our reset into a plain close of a close-delimited response (see error-throw-after-first-chunk)",
    },
  };
}

describe("uWSGI HTTP router → tsgi", { skip: uwsgi ? false : "uwsgi not installed (apt-get install uwsgi)" }, () => {
  const dir = uwsgi ? tempDir() : "";
  after(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const transport of ["tcp", "unix"] as const) {
    for (const mount of ["", "/app"]) {
      describe(`battery over ${transport}, ${mount ? `mounted at ${mount}` : "at /"}`, () => {
        let front: Front;
        before(async () => {
          // The router sends SCRIPT_NAME "" and the whole path: --mount does the split.
          const b = await backend(dir, transport, BATTERY_APP, mount || undefined);
          front = await startRouter(uwsgi!, dir, b.addr);
        });
        runBattery({ baseUrl: () => front.baseUrl, mount, ...routerSkips(transport) });
      });
    }
  }

  describe("uwsgi specifics through the router", () => {
    let front: Front;
    before(async () => {
      const b = await backend(dir, "tcp", "test/uwsgi/apps.ts:echo");
      front = await startRouter(uwsgi!, dir, b.addr);
    });

    test("the router's vars: UWSGI_ROUTER=http, SCRIPT_NAME \"\", decoded PATH_INFO, raw REQUEST_URI", async () => {
      const r = await http(front, "GET", "/a%20b/c?x=1");
      assert.equal(r.status, 200);
      const env = JSON.parse(r.body.toString()).env;
      assert.equal(env.UWSGI_ROUTER, "http");
      assert.equal(env.SCRIPT_NAME, "");
      assert.equal(env.PATH_INFO, "/a b/c");
      assert.equal(env.REQUEST_URI, "/a%20b/c?x=1");
    });

    test("our bytes reach the client verbatim: a real status line, no Transfer-Encoding, close-delimited", async () => {
      const r = await http(front, "GET", "/stream");
      assert.equal(r.status, 200);
      assert.equal(r.headers["transfer-encoding"], undefined);
      assert.equal(r.body.toString(), "one\ntwo\nthree\n");
      const s = await http(front, "GET", "/status/418");
      assert.equal(s.status, 418);
      assert.equal(s.statusMessage, "Custom", "the app's reason phrase, relayed as is");
    });
  });
});
