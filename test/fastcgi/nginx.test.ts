/**
 * tsgi's FastCGI listener behind a real nginx (`fastcgi_pass`), from
 * examples/deploy/nginx-fastcgi.conf (a connection per request) and
 * nginx-fastcgi-keepalive.conf (fastcgi_keep_conn + upstream keepalive), over TCP and a unix
 * socket, at / and under a mount: the conformance battery, then what is specific to nginx.
 */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { before, describe, test } from "node:test";
import { assertEnv, backendAddr, BATTERY_APP, batteryThrough, environ, http, ignoredUploads, peer, peerSuite, startBackend, startNginx, type Front } from "../support/peers.ts";
import type { Started } from "../support/process.ts";
import { runtime } from "../support/runtime.ts";
import { backend, tsgiFastcgi } from "./peers.ts";

const nginx = peer("nginx");

const BUFFERED = "nginx buffers the response (fastcgi_buffering on), so an app failing mid-body gives the client an empty reply (tsgi makes nginx log an upstream error), never a cut 200";

/** What nginx in front makes impossible or different, with the reason. */
const NGINX = {
  capabilities: {
    streaming: "nginx buffers FastCGI responses by default (fastcgi_buffering on)",
  },
  skip: {
    "error-throw-after-first-chunk": BUFFERED,
    "error-content-length-short": BUFFERED,
    "close-after-error": BUFFERED,
  },
};

const SETUPS = [
  { site: "nginx-fastcgi.conf", transport: "tcp", mount: "", extra: [] },
  { site: "nginx-fastcgi.conf", transport: "unix", mount: "/app", extra: [] },
  { site: "nginx-fastcgi-keepalive.conf", transport: "unix", mount: "", extra: [] },
  // The same config with tsgi deriving SCRIPT_NAME/PATH_INFO from REQUEST_URI (--mount).
  { site: "nginx-fastcgi-keepalive.conf", transport: "tcp", mount: "/app", extra: ["--mount", "/app"] },
] as const;

peerSuite("nginx fastcgi_pass → tsgi", nginx.skip, (dir) => {
  batteryThrough(SETUPS, async (s) => {
    const b = await backend(dir, s.transport, BATTERY_APP, s.extra);
    return startNginx(nginx.bin, dir, s.site, { LOCATION: s.mount || "/", MOUNT: s.mount, BACKEND: b.tcp ? b.addr : `unix:${b.addr}` }, "fastcgi_params");
  }, () => NGINX, (front) => {
    test("nginx logged no upstream error but the battery's deliberately failing responses", () => {
      const lines = front().errorLog().split("\n").filter((l) => l && !/buffered to a temporary file/.test(l) && !/"GET [^"]*\/(throw\/after-chunk|cl-short|close\/throw\/)/.test(l));
      assert.deepEqual(lines.filter((l) => /upstream|\[error\]|\[crit\]/.test(l)), []);
    });
  });

  for (const site of ["nginx-fastcgi.conf", "nginx-fastcgi-keepalive.conf"]) {
    describe(`FastCGI specifics through ${site}`, () => {
      let front: Front;
      before(async () => {
        const b = await backend(dir, "tcp", "test/fastcgi/peer-app.ts");
        front = await startNginx(nginx.bin, dir, site, { LOCATION: "/", MOUNT: "", BACKEND: b.addr }, "fastcgi_params");
      });

      test("environ: SCRIPT_NAME/PATH_INFO split by fastcgi_split_path_info, raw REQUEST_URI, no empty CONTENT_*", async () => {
        assertEnv(await environ(front, "/a%20b/c?x=1&y=%2F"), {
          SCRIPT_NAME: "", PATH_INFO: "/a b/c", REQUEST_URI: "/a%20b/c?x=1&y=%2F", QUERY_STRING: "x=1&y=%2F",
          CONTENT_LENGTH: undefined, CONTENT_TYPE: undefined, HTTP_CONTENT_LENGTH: undefined,
        });
      });

      test("two Cookie headers reach the app as one HTTP_COOKIE (nginx 1.22 sends two params)", async () => {
        const raw = await new Promise<string>((resolve, reject) => {
          import("node:net").then(({ connect }) => {
            const s = connect(front.port, "127.0.0.1", () => s.write("GET /c HTTP/1.0\r\nHost: x\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n"));
            let out = "";
            s.on("data", (d) => (out += d));
            s.on("end", () => resolve(out));
            s.on("error", reject);
          });
        });
        const body = raw.slice(raw.indexOf("{"), raw.lastIndexOf("}") + 1);
        assert.equal(JSON.parse(body).env.HTTP_COOKIE, "a=1; b=2");
      });

      test("a chunked upload: STDIN is the body, CONTENT_LENGTH is set, no Transfer-Encoding", async () => {
        const raw = await new Promise<string>((resolve, reject) => {
          const req = httpRequest({ host: "127.0.0.1", port: front.port, method: "POST", path: "/u", agent: false }, (res) => {
            let out = "";
            res.on("data", (d) => (out += d));
            res.on("end", () => resolve(out));
          });
          req.on("error", reject);
          req.write("abc"); // no Content-Length: node sends Transfer-Encoding: chunked
          req.write("de");
          req.end();
        });
        const got = JSON.parse(raw.slice(raw.indexOf("{"), raw.lastIndexOf("}") + 1));
        assert.equal(got.bodyLength, 5);
        assert.equal(got.env.CONTENT_LENGTH, "5");
        assert.equal("HTTP_TRANSFER_ENCODING" in got.env, false);
      });

      test("an app that ignores an 8 MB upload: 6 of 6 answered (drained, no RST, no 502)", async () => {
        await ignoredUploads(front, "/early");
        assert.doesNotMatch(front.errorLog(), /reset by peer|prematurely|\[error\]/);
      });

      test("50 concurrent requests all answered", async () => {
        const rs = await Promise.all(Array.from({ length: 50 }, (_, i) => http(front, "GET", `/n${i}`)));
        rs.forEach((r, i) => assert.equal(JSON.parse(r.body.toString()).env.PATH_INFO, `/n${i}`));
        assert.doesNotMatch(front.errorLog(), /\[error\]/);
      });
    });
  }

  describe("graceful reload (--workers 2, SIGHUP) under POST load through nginx-fastcgi.conf", { skip: runtime() === "bun" ? "Bun's node:cluster cannot share a listening socket: tsgi refuses --workers there" : runtime() === "deno" ? "Deno's node:cluster: a reload resets a few connections (1-3 of ~11k requests over 3 reloads; docs/runtimes.md)" : false }, () => {
    // A connection per request: the old workers stop accepting and finish what they took, the
    // new ones accept from the same socket, and nothing is refused or cut. (With
    // fastcgi_keep_conn, nginx can send a request on a kept connection just as an old worker
    // closes it; nginx retries GET but answers 502 to POST: docs/fastcgi.md.)
    let front: Front;
    let master: Started;
    before(async () => {
      const addr = await backendAddr(dir, "unix");
      master = await startBackend(tsgiFastcgi("test/fastcgi/peer-app.ts", addr, ["--socket-mode", "666", "--workers", "2"]), addr);
      front = await startNginx(nginx.bin, dir, "nginx-fastcgi.conf", { LOCATION: "/", MOUNT: "", BACKEND: `unix:${addr}` }, "fastcgi_params");
    });

    test("3 reloads while 16 clients POST: every request answered 200, nginx logs no upstream error", async () => {
      let running = true;
      const failures: string[] = [];
      let answered = 0;
      const client = async (c: number) => {
        for (let i = 0; running && i < 20_000; i++) {
          const r = await http(front, "POST", `/p${c}-${i}`, { "content-type": "text/plain" }, Buffer.from("x=1")).catch((e: Error) => ({ status: 0, body: Buffer.from(e.message) }));
          if (r.status === 200) answered++;
          else failures.push(`${r.status} ${r.body.toString().slice(0, 80)}`);
        }
      };
      const clients = Array.from({ length: 16 }, (_, c) => client(c));
      try {
        for (let k = 0; k < 3; k++) {
          await new Promise((r) => setTimeout(r, 700));
          const mark = master.output().length;
          process.kill(master.child.pid!, "SIGHUP");
          for (let i = 0; i < 200 && !master.output().slice(mark).includes("reload done"); i++) await new Promise((r) => setTimeout(r, 25));
          assert.match(master.output().slice(mark), /reload done/);
        }
        await new Promise((r) => setTimeout(r, 300));
      } finally {
        running = false;
        await Promise.all(clients);
      }
      assert.deepEqual(failures.length, 0, `${failures.length} of ${answered + failures.length} requests failed; nginx: ${front.errorLog().split("\n").filter((l) => /upstream|\[error\]/.test(l)).slice(0, 4).join("\n")}\n${master.output().split("\n").filter((l) => !/booted|reload|exited|serving/.test(l)).slice(0, 8).join("\n")}`);
      assert.ok(answered > 200, `${answered} requests answered`);
      assert.deepEqual(front.errorLog().split("\n").filter((l) => /upstream|\[error\]/.test(l)), []);
    });
  });
});
