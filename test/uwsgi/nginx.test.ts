/**
 * tsgi's uwsgi listener behind a real nginx (`uwsgi_pass`, examples/deploy/nginx-uwsgi.conf),
 * over TCP and a unix socket, at / and under a mount: the conformance battery, then what is
 * specific to uwsgi behind nginx.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import type { BatteryOptions } from "../../src/testing/battery/index.ts";
import { assertEnv, BATTERY_APP, batteryThrough, environ, http, ignoredUploads, peer, peerSuite, startNginx, type Front } from "../support/peers.ts";
import { backend, SETUPS, unixSkips } from "./peers.ts";

const nginx = peer("nginx");

/** What nginx in front makes impossible or different, with the reason. */
function nginxSkips(transport: "tcp" | "unix", mount: string): Pick<BatteryOptions, "capabilities" | "skip"> {
  const skip = unixSkips(transport);
  const host = "Debian's uwsgi_params sends HTTP_HOST $host, without the port (its security workaround for $http_host)";
  for (const m of ["get", "post", "put", "patch", "delete", "options"]) skip[`environ-${m}`] = host;
  skip["error-throw-after-first-chunk"] = "nginx (uwsgi_buffering on) drops the bytes it buffered when the upstream resets, and a close-delimited uwsgi response has no other way to say it was cut short; the client does see a truncated response";
  if (!mount) skip["path-repeated-slashes"] = "nginx merges slashes in $document_uri, which uwsgi_params sends as PATH_INFO (merge_slashes on); under a mount tsgi takes the path from the raw REQUEST_URI";
  return {
    capabilities: {
      streaming: "nginx buffers uwsgi responses by default (uwsgi_buffering on); the X-Accel-Buffering test below covers streaming",
    },
    skip,
  };
}

/** nginx error-log lines that the battery causes on purpose: apps that break mid-response. */
const EXPECTED_ERRORS = /request: "\w+ (\/app)?\/(throw\/|cl-short|cl-long|close\/throw)|client intended to send too large body/;

/** Send raw request bytes; the response as text, read until the server closes. */
function rawHttp(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1", () => sock.write(request, "latin1"));
    let text = "";
    sock.on("data", (d) => (text += d.toString("latin1")));
    sock.on("end", () => resolve(text));
    sock.on("error", reject);
  });
}

function unexpectedErrors(log: string): string[] {
  return log.split("\n").filter((l) => /\[(error|crit|alert|emerg)\]/.test(l) && !EXPECTED_ERRORS.test(l));
}

peerSuite("nginx uwsgi_pass → tsgi", nginx.skip, (dir) => {
  /** nginx with examples/deploy/nginx-uwsgi.conf, passing `location` to tsgi at `pass`. */
  const startFront = (location: string, pass: string) => startNginx(nginx.bin, dir, "nginx-uwsgi.conf", { LOCATION: location, BACKEND: pass }, "uwsgi_params");
  batteryThrough(SETUPS, async ({ transport, mount }) => {
    const b = await backend(dir, transport, BATTERY_APP, mount || undefined);
    return startFront(mount || "/", b.pass);
  }, (s) => nginxSkips(s.transport, s.mount), (front) => {
    test("nginx logged no error besides the battery's deliberate app failures", () => {
      assert.deepEqual(unexpectedErrors(front().errorLog()), []);
    });
  });

  describe("uwsgi specifics through nginx", () => {
    let front: Front;
    before(async () => {
      const b = await backend(dir, "tcp", "test/uwsgi/apps.ts:echo");
      front = await startFront("/", b.pass);
    });

    test("environ from nginx's uwsgi_params: no SCRIPT_NAME, decoded PATH_INFO, raw REQUEST_URI, no empty CONTENT_*", async () => {
      assertEnv(await environ(front, "/a%20b/c?x=1&y=%2F"), {
        SCRIPT_NAME: "", PATH_INFO: "/a b/c", REQUEST_URI: "/a%20b/c?x=1&y=%2F", QUERY_STRING: "x=1&y=%2F",
        CONTENT_LENGTH: undefined, CONTENT_TYPE: undefined, REMOTE_ADDR: "127.0.0.1", SERVER_PROTOCOL: "HTTP/1.1",
      });
    });

    test("a response without Content-Length arrives once, not double-chunked", async () => {
      const r = await http(front, "GET", "/stream");
      assert.equal(r.body.toString(), "one\ntwo\nthree\n");
    });

    test("21 KB of cookies in 3 lines (uWSGI's 4 KiB buffer-size would answer 502) reach the app, joined", async () => {
      // nginx limits one header line to 8k (large_client_header_buffers); nginx 1.22 then sends
      // one HTTP_COOKIE var per line, which the codec joins with "; ".
      const cookies = Array.from({ length: 3 }, (_, i) => `c${i}=${String(i).repeat(7000)}`);
      const raw = await rawHttp(front.port, `GET / HTTP/1.1\r\nHost: x\r\n${cookies.map((c) => `Cookie: ${c}\r\n`).join("")}Connection: close\r\n\r\n`);
      assert.match(raw, /^HTTP\/1.1 200 OK\r\n/);
      assert.equal(JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4)).env.HTTP_COOKIE, cookies.join("; "));
    });

    test("an app that ignores an 8 MB upload: 6 of 6 answered (drained, no RST, no 502)", async () => {
      await ignoredUploads(front, "/early");
      assert.doesNotMatch(front.errorLog(), /reset by peer|prematurely/);
    });

    test("streaming with X-Accel-Buffering: no: the first chunk arrives long before the last", async () => {
      const t0 = Date.now();
      let first = -1;
      const body = await new Promise<string>((resolve, reject) => {
        import("node:http").then(({ get }) => {
          get({ host: "127.0.0.1", port: front.port, path: "/slow-stream", agent: false }, (res) => {
            let text = "";
            res.on("data", (d) => {
              if (first < 0) first = Date.now() - t0;
              text += d;
            });
            res.on("end", () => resolve(text));
          }).on("error", reject);
        }, reject);
      });
      assert.equal(body, "0\n1\n2\n");
      assert.ok(Date.now() - t0 - first >= 400, `first chunk at ${first} ms, end at ${Date.now() - t0} ms`);
    });

    test("a status line with the app's reason phrase", async () => {
      const r = await http(front, "GET", "/status/418");
      assert.equal(r.status, 418);
      assert.equal(r.headers["x-status"], "418");
    });
  });
});
