/**
 * tsgi's uwsgi listener behind uWSGI's own HTTP router (`uwsgi --http ... --http-to ...`,
 * examples/deploy/uwsgi-http-router.ini), a uwsgi client that relays our response bytes
 * verbatim: the conformance battery at / and under a mount, over TCP and a unix socket.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { BatteryOptions } from "../../src/testing/battery/index.ts";
import { assertEnv, BATTERY_APP, batteryThrough, environ, http, peer, peerSuite, type Front } from "../support/peers.ts";
import { backend, SETUPS, startRouter, unixSkips } from "./peers.ts";

const uwsgi = peer("uwsgi");

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
      ...unixSkips(transport),
      "header-cookie-repeated": "the router joins repeated Cookie lines with \", \" into one HTTP_COOKIE var",
      "header-underscore-dropped": "the router passes header names containing _ (X_Forwarded_User arrives as HTTP_X_FORWARDED_USER); tsgi only sees the var name and cannot tell",
      "header-whitespace": "the router keeps trailing whitespace in header values",
      "error-throw-after-first-chunk": "the router relays our bytes verbatim and closes the client connection when we reset: a response without Content-Length then looks complete",
      "close-after-error": "the router turns our reset into a plain close of a close-delimited response (see error-throw-after-first-chunk)",
    },
  };
}

peerSuite("uWSGI HTTP router → tsgi", uwsgi.skip, (dir) => {
  batteryThrough(SETUPS, async ({ transport, mount }) => {
    // The router sends SCRIPT_NAME "" and the whole path: --mount does the split.
    const b = await backend(dir, transport, BATTERY_APP, mount || undefined);
    return startRouter(uwsgi.bin, dir, b.addr);
  }, (s) => routerSkips(s.transport));

  describe("uwsgi specifics through the router", () => {
    let front: Front;
    before(async () => {
      const b = await backend(dir, "tcp", "test/uwsgi/apps.ts:echo");
      front = await startRouter(uwsgi.bin, dir, b.addr);
    });

    test("the router's vars: UWSGI_ROUTER=http, SCRIPT_NAME \"\", decoded PATH_INFO, raw REQUEST_URI", async () => {
      assertEnv(await environ(front, "/a%20b/c?x=1"), { UWSGI_ROUTER: "http", SCRIPT_NAME: "", PATH_INFO: "/a b/c", REQUEST_URI: "/a%20b/c?x=1" });
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
