/**
 * tsgi's FastCGI listener behind a real Apache httpd: mod_proxy_fcgi from
 * examples/deploy/apache-fastcgi.conf (TCP and unix socket, root and mount, tsgi --mount), and
 * the AUTHORIZER role through mod_authnz_fcgi (apache-fastcgi-authorizer.conf).
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { runBattery } from "../../src/testing/battery/index.ts";
import { requirePeer, stopAll } from "../support/process.ts";
import { backend, BATTERY_APP, http, startApache, tempDir, type Front } from "./peers.ts";

const apache = requirePeer("apache2", "apache2");

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

describe("Apache mod_proxy_fcgi → tsgi", { skip: apache ? false : "apache2 not installed (apt-get install apache2)" }, () => {
  const dir = apache ? tempDir() : "";
  after(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [transport, mount] of [["tcp", ""], ["unix", "/app"]] as const) {
    describe(`battery over ${transport}, ${mount ? `mounted at ${mount}` : "at /"}`, () => {
      let front: Front;
      before(async () => {
        const b = await backend(dir, transport, BATTERY_APP, ["--mount", mount || "/"]);
        const url = b.tcp ? `fcgi://${b.addr}${mount ? "" : "/"}` : `unix:${b.addr}|fcgi://localhost${mount ? "" : "/"}`;
        front = await startApache(apache!, dir, [["apache-fastcgi.conf", { LOCATION: mount || "/", BACKEND: url }]]);
      });
      runBattery({ baseUrl: () => front.baseUrl, mount, ...APACHE });
      test("Apache logged no proxy error but the battery's deliberately failing responses", () => {
        const lines = front.errorLog().split("\n").filter((l) => /proxy|\[error\]/.test(l) && !/throw|cl-short|close\/throw/.test(l));
        assert.deepEqual(lines.filter((l) => !/AH01075|AH01070|AH01068/.test(l)), []);
      });
    });
  }

  // TCP only: mod_authnz_fcgi takes its backend as fcgi://HOST:PORT/ and nothing else (its
  // FCGI_BACKEND_REGEX_STR); the unix-socket path is covered by the mod_proxy_fcgi battery above.
  describe("AUTHORIZER role through mod_authnz_fcgi", () => {
    let front: Front;
    before(async () => {
      const auth = await backend(dir, "tcp", "test/fastcgi/peer-app.ts:authorizer");
      const app = await backend(dir, "tcp", "test/fastcgi/peer-app.ts", ["--mount", "/"]);
      front = await startApache(apache!, dir, [
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
      const r = await http(front, "GET", "/private/x", { authorization: "Basic " + Buffer.from("ann:secret").toString("base64") });
      assert.equal(r.status, 200, r.body.toString());
      const env = JSON.parse(r.body.toString()).env;
      assert.equal(env.PATH_INFO, "/private/x");
      assert.equal(env.REMOTE_USER, "ann");
    });
  });
});
