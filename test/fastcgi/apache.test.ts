/**
 * tsgi's FastCGI listener behind a real Apache httpd: mod_proxy_fcgi from
 * examples/deploy/apache-fastcgi.conf (TCP and unix socket, root and mount, tsgi --mount), and
 * the AUTHORIZER role through mod_authnz_fcgi (apache-fastcgi-authorizer.conf).
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { BATTERY_APP, batteryThrough, environ, http, peer, peerSuite, startApache, type Front } from "../support/peers.ts";
import { backend, SETUPS } from "./peers.ts";

const apache = peer("apache2");

const APACHE = {
  capabilities: {
    encodedSlash: "Apache answers 404 to %2F in a path unless AllowEncodedSlashes is on",
    contentLength: "mod_proxy_fcgi removes the app's Content-Length and re-frames the body",
    streaming: "mod_proxy_fcgi buffers the response unless the worker has flushpackets=on",
    disconnect: "Apache notices a client that left only when it next writes to it, and keeps the backend request running",
  },
  skip: {
    "header-cookie-repeated": "Apache merges repeated request headers with \", \" before mod_proxy_fcgi sees them, Cookie included",
    "error-throw-after-first-chunk": "mod_proxy_fcgi buffers small responses: an app failing mid-body gives the client a 502 or an empty reply, not a cut 200",
    "close-after-error": "same as error-throw-after-first-chunk: Apache's answer to a failed FastCGI response is not a cut 200",
  },
};

peerSuite("Apache mod_proxy_fcgi → tsgi", apache.skip, (dir) => {
  batteryThrough(SETUPS, async ({ transport, mount }) => {
    const b = await backend(dir, transport, BATTERY_APP, ["--mount", mount || "/"]);
    const url = b.tcp ? `fcgi://${b.addr}${mount ? "" : "/"}` : `unix:${b.addr}|fcgi://localhost${mount ? "" : "/"}`;
    return startApache(apache.bin, dir, [["apache-fastcgi.conf", { LOCATION: mount || "/", BACKEND: url }]]);
  }, () => APACHE, (front) => {
    test("Apache logged no proxy error but the battery's deliberately failing responses", () => {
      const lines = front().errorLog().split("\n").filter((l) => /proxy|\[error\]/.test(l) && !/throw|cl-short|close\/throw/.test(l));
      assert.deepEqual(lines.filter((l) => !/AH01075|AH01070|AH01068/.test(l)), []);
    });
  });

  // TCP only: mod_authnz_fcgi takes its backend as fcgi://HOST:PORT/ and nothing else (its
  // FCGI_BACKEND_REGEX_STR); the unix-socket path is covered by the mod_proxy_fcgi battery above.
  describe("AUTHORIZER role through mod_authnz_fcgi", () => {
    let front: Front;
    before(async () => {
      const auth = await backend(dir, "tcp", "test/fastcgi/peer-app.ts:authorizer");
      const app = await backend(dir, "tcp", "test/fastcgi/peer-app.ts", ["--mount", "/"]);
      front = await startApache(apache.bin, dir, [
        ["apache-fastcgi.conf", { LOCATION: "/", BACKEND: `fcgi://${app.addr}/` }],
        ["apache-fastcgi-authorizer.conf", { LOCATION: "/private", BACKEND: `fcgi://${auth.addr}/` }],
      ]);
    });
    test("no credentials: 401 from Apache", async () => {
      assert.equal((await http(front, "GET", "/private/x")).status, 401);
    });
    test("a wrong password: the app's 401 reaches the client", async () => {
      const r = await http(front, "GET", "/private/x", { authorization: "Basic " + Buffer.from("ann:nope").toString("base64") });
      assert.equal(r.status, 401);
    });
    test("the right password: the request goes through to the app, as REMOTE_USER", async () => {
      const env = await environ(front, "/private/x", { authorization: "Basic " + Buffer.from("ann:secret").toString("base64") });
      assert.equal(env.PATH_INFO, "/private/x");
      assert.equal(env.REMOTE_USER, "ann");
    });
  });
});
