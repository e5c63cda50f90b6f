/**
 * tsgi's uwsgi listener behind a real Apache httpd (`mod_proxy_uwsgi`,
 * examples/deploy/apache-uwsgi.conf), over TCP and a unix socket, at / and under a mount:
 * the conformance battery, then what is specific to uwsgi behind Apache.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { BatteryOptions } from "../../src/testing/battery/index.ts";
import { assertEnv, BATTERY_APP, batteryThrough, environ, http, ignoredUploads, peer, peerSuite, startApache, type Front } from "../support/peers.ts";
import { backend, SETUPS, unixSkips, type Backend } from "./peers.ts";

const apache = peer("apache2");

/** ProxyPass target for tsgi's address: `uwsgi://host:port/` or `unix:/path|uwsgi://localhost/`. */
function proxyTarget(b: Backend, mount: string): string {
  const slash = mount ? "" : "/";
  return b.transport === "tcp" ? `uwsgi://${b.addr}${slash}` : `unix:${b.addr}|uwsgi://localhost${slash}`;
}

/** What Apache in front makes impossible or different, with the reason. */
function apacheSkips(transport: "tcp" | "unix", mount: string): Pick<BatteryOptions, "capabilities" | "skip"> {
  const skip: Record<string, string> = {
    ...unixSkips(transport),
    "header-cookie-repeated": "Apache joins repeated Cookie headers with \", \" before mod_proxy_uwsgi sends HTTP_COOKIE; the app sees \"a=1, b=2\"",
    "error-throw-after-first-chunk": "mod_proxy_uwsgi ends the client's response normally when the backend resets mid-body, so a response without Content-Length cannot be marked cut short",
    "close-after-error": "mod_proxy_uwsgi ends the client's response normally when the backend resets mid-body (see error-throw-after-first-chunk)",
  };
  if (!mount) skip["path-repeated-slashes"] = "Apache merges slashes (MergeSlashes On) in the PATH_INFO it sends; under a mount tsgi takes the path from the raw REQUEST_URI";
  return {
    capabilities: {
      chunkedRequest: "mod_proxy_uwsgi answers 411 to chunked request bodies (REQUEST_CHUNKED_ERROR)",
      encodedSlash: "Apache answers 404 to %2F in a path unless AllowEncodedSlashes is on",
    },
    skip,
  };
}

peerSuite("Apache mod_proxy_uwsgi → tsgi", apache.skip, (dir) => {
  batteryThrough(SETUPS, async ({ transport, mount }) => {
    // mod_proxy_uwsgi sends SCRIPT_NAME and PATH_INFO itself; --mount makes tsgi take
    // them from the raw REQUEST_URI instead (exact for /app itself and repeated slashes).
    const b = await backend(dir, transport, BATTERY_APP, mount || undefined);
    return startApache(apache.bin, dir, [["apache-uwsgi.conf", { LOCATION: mount || "/", BACKEND: proxyTarget(b, mount) }]]);
  }, (s) => apacheSkips(s.transport, s.mount), (front) => {
    test("Apache logged no error besides the battery's deliberate app failures", () => {
      const lines = front().errorLog().split("\n").filter((l) => /:error\]|:crit\]/.test(l) && !/\/(throw\/|cl-short|cl-long|close\/throw)/.test(l));
      assert.deepEqual(lines, []);
    });
  });

  describe("uwsgi specifics through Apache", () => {
    let front: Front;
    before(async () => {
      const b = await backend(dir, "tcp", "test/uwsgi/apps.ts:echo");
      front = await startApache(apache.bin, dir, [["apache-uwsgi.conf", { LOCATION: "/uw", BACKEND: proxyTarget(b, "/uw") }]]);
    });

    test("environ from mod_proxy_uwsgi: SCRIPT_NAME is the prefix, PATH_INFO the decoded rest, no proxy: prefix", async () => {
      const env = await environ(front, "/uw/a%20b/c?x=1", { authorization: "Basic dTpw" });
      // HTTP_AUTHORIZATION: mod_proxy_uwsgi passes Authorization.
      assertEnv(env, { SCRIPT_NAME: "/uw", PATH_INFO: "/a b/c", REQUEST_URI: "/uw/a%20b/c?x=1", QUERY_STRING: "x=1", HTTP_AUTHORIZATION: "Basic dTpw" });
      assert.ok(!String(env.SCRIPT_FILENAME ?? "").startsWith("proxy:"), `SCRIPT_FILENAME ${env.SCRIPT_FILENAME}`);
    });

    test("the status line is accepted (no 502) and its status reaches the client", async () => {
      const r = await http(front, "GET", "/uw/status/418");
      assert.equal(r.status, 418);
      assert.equal(r.headers["x-status"], "418");
    });

    test("a response without Content-Length arrives once, not double-chunked", async () => {
      const r = await http(front, "GET", "/uw/stream");
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), "one\ntwo\nthree\n");
    });

    test("an app that ignores an 8 MB upload: 6 of 6 answered", async () => {
      await ignoredUploads(front, "/uw/early");
    });
  });
});
