/**
 * HAProxy fcgi-app in front of tsgi (examples/deploy/haproxy-fcgi.cfg): FCGI_KEEP_CONN, one
 * request at a time on each kept connection. Not multiplexed: HAProxy 2.6 fails some requests
 * with its own 500 when it multiplexes under load (the config says why); tsgi's multiplexing is
 * tested directly (listener.test.ts).
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { BATTERY_APP, batteryThrough, http, peer, peerSuite, type Front } from "../support/peers.ts";
import { backend, SETUPS, startHaproxy } from "./peers.ts";

const haproxy = peer("haproxy");

const HAPROXY = {
  capabilities: {
    chunkedRequest: "HAProxy's fcgi-app forwards only requests of known length (it answers 411 otherwise)",
  },
  skip: {
    "response-status-302": "HAProxy sends its own reason phrase (\"Moved Temporarily\"), not the app's",
    "response-304": "HAProxy adds Content-Length: 0 to a 304 from a FastCGI app",
  },
};

peerSuite("HAProxy fcgi-app → tsgi", haproxy.skip, (dir) => {
  batteryThrough(SETUPS, async ({ transport, mount }) => {
    const b = await backend(dir, transport, BATTERY_APP);
    return startHaproxy(haproxy.bin, dir, { MOUNT: mount, BACKEND: b.addr });
  }, () => HAPROXY);
  describe("concurrency", () => {
    let front: Front;
    before(async () => {
      const b = await backend(dir, "tcp", "test/fastcgi/peer-app.ts");
      front = await startHaproxy(haproxy.bin, dir, { MOUNT: "", BACKEND: b.addr });
    });
    // With multiplexing on, this failed in CI once (1 request of 40 got HAProxy's own 500); with
    // 150 requests, or smaller bodies on a loaded machine, on every run (docs/fastcgi.md).
    test("40 concurrent requests over HAProxy's kept connections all answered right", async () => {
      const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => http(front, "POST", `/m${i}`, { "content-type": "text/plain" }, Buffer.alloc(i * 1000, 120))));
      rs.forEach((r, i) => {
        assert.equal(r.status, 200, `request ${i}: ${r.status} ${r.body.toString().slice(0, 100)}`);
        const got = JSON.parse(r.body.toString());
        assert.equal(got.env.PATH_INFO, `/m${i}`);
        assert.equal(got.bodyLength, i * 1000);
      });
    });
  });
});
