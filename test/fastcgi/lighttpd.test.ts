/**
 * lighttpd mod_fastcgi starting tsgi itself (examples/deploy/lighttpd-fastcgi.conf): the
 * listening socket (unix or TCP) arrives as fd 0, `tsgi serve APP --fastcgi` with no address
 * serves it. The battery at / over a unix socket and under a mount over TCP.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { BATTERY_APP, batteryThrough, http, peer, peerSuite, type Setup } from "../support/peers.ts";
import { freePort } from "../support/process.ts";
import { runtime } from "../support/runtime.ts";
import { cgi, once } from "./client.ts";
import { startLighttpd, tsgiFastcgi } from "./peers.ts";

const lighttpd = peer("lighttpd");
const skip = lighttpd.skip || (runtime() === "bun" ? "Bun cannot adopt a listening socket on fd 0 (oven-sh/bun#36491)" : false);

const LIGHTTPD = {
  capabilities: {
    chunkedRequest: "lighttpd answers 411 to a chunked upload for FastCGI unless it may buffer it whole first",
    streaming: "lighttpd buffers FastCGI responses by default (server.stream-response-body)",
  },
  skip: {
    "error-throw-after-first-chunk": "lighttpd buffers the response: an app failing mid-body gives a 502/empty reply, not a cut 200",
    "error-content-length-short": "lighttpd buffers the response and frames it itself",
    "close-after-error": "same as error-throw-after-first-chunk",
    "header-underscore-dropped": "lighttpd passes X_Foo as HTTP_X_FOO, which no gateway can tell from X-Foo (lighttpd only refuses it when an X-Foo is sent too)",
    "path-repeated-slashes": "lighttpd merges repeated slashes in PATH_INFO (REQUEST_URI keeps them; start tsgi with --mount to use it)",
    "response-status-418": "lighttpd sends its own reason phrase, not the app's",
    "body-none": "lighttpd answers 411 to a POST without Content-Length",
  },
};

peerSuite("lighttpd mod_fastcgi spawning tsgi (fd 0)", skip, (dir) => {
  let port = 0;
  const setups: Setup[] = [{ transport: "unix", mount: "" }, { transport: "tcp", mount: "/app" }];
  batteryThrough(setups, async ({ transport, mount }) => {
    const [cmd, args] = tsgiFastcgi(BATTERY_APP, undefined);
    if (transport === "tcp") port = await freePort();
    const bind = transport === "unix" ? `"socket" => "${join(dir, `lt${mount.replace("/", "-")}.sock`)}"` : `"host" => "127.0.0.1", "port" => ${port}`;
    const front = await startLighttpd(lighttpd.bin, dir, { LOCATION: mount || "/", BIND: bind, COMMAND: [cmd, ...args].join(" ") });
    // lighttpd starts the backend itself: wait until it answers.
    for (let i = 0; i < 100; i++) {
      const r = await http(front, "GET", `${mount}/query?up`).catch(() => null);
      if (r?.status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return front;
  }, () => LIGHTTPD, (front, { transport }) => {
    test("lighttpd logged no backend error", () => {
      assert.doesNotMatch(front().errorLog(), /failed to start|connect.*failed|died/i);
    });
    if (transport === "tcp") {
      test("the TCP socket lighttpd made is tsgi's (a FastCGI request straight to it)", async () => {
        const r = await once({ host: "127.0.0.1", port }, cgi("/query?direct"));
        assert.equal(r.stdout.toString("latin1"), "Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\ncontent-length: 6\r\n\r\ndirect");
      });
    }
  });
});
