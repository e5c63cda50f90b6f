/**
 * HAProxy fcgi-app in front of tsgi (examples/deploy/haproxy-fcgi.cfg): GET_VALUES on each new
 * connection, FCGI_KEEP_CONN, several requests multiplexed on one connection (ids 1, 3, ...).
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
  describe("multiplexing", () => {
    let front: Front;
    before(async () => {
      const b = await backend(dir, "tcp", "test/fastcgi/peer-app.ts");
      front = await startHaproxy(haproxy.bin, dir, { MOUNT: "", BACKEND: b.addr });
    });
    test("40 concurrent requests over HAProxy's shared, multiplexed connections all answered right", async () => {
      const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => http(front, "POST", `/m${i}`, { "content-type": "text/plain" }, Buffer.alloc(i * 1000, 120))));
      rs.forEach((r, i) => {
        assert.equal(r.status, 200);
        const got = JSON.parse(r.body.toString());
        assert.equal(got.env.PATH_INFO, `/m${i}`);
        assert.equal(got.bodyLength, i * 1000);
      });
    });
  });
});
