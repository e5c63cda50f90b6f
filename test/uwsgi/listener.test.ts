/**
 * The uwsgi listener in-process, driven by the test-side client: framing of requests and
 * responses, bodies, backpressure, and every kind of bad input (one log line, a clean close,
 * the next request unharmed).
 *
 * On Node the listener serves bodiless requests on the raw accepted handle (native.ts);
 * portable.test.ts runs this whole file again with `portable: true` (net.Socket only).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { Worker } from "node:worker_threads";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { Gateway, type App, type AsyncApp, type HttpScope, type Listener } from "../../src/index.ts";
import { encodePacket, encodeVars, listen, type UwsgiOptions } from "../../adapters/uwsgi/index.ts";
import { echo, echoAsync } from "./apps.ts";
import { exchange, nginxVars, parseResponse, request, type Target } from "./client.ts";

interface Served {
  target: Target;
  logs: string[];
  listener: Listener;
}

const portable = process.env.TSGI_UWSGI_TEST_PORTABLE === "1";

async function serve(app: App, options: UwsgiOptions = {}, mount?: string, target: { host: string; port: number } | { path: string } = { host: "127.0.0.1", port: 0 }): Promise<Served> {
  const logs: string[] = [];
  const gateway = new Gateway(app, { mount, log: (l) => logs.push(l) });
  const listener = await listen(gateway, target, { portable, ...options });
  const t: Target = "path" in target ? target : { host: "127.0.0.1", port: Number(listener.url.split(":").pop()) };
  return { target: t, logs, listener };
}

const json = (r: { body: Buffer }) => JSON.parse(r.body.toString("utf8"));
const header = (r: { headers: [string, string][] }, name: string) => r.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);

async function assertStillServes(s: Served): Promise<void> {
  const r = await request(s.target, nginxVars("GET", "/after"));
  assert.equal(r.status, 200, "a good request after the bad one succeeds");
  assert.equal(json(r).env.PATH_INFO, "/after");
}

describe("uwsgi listener: requests and responses", () => {
  let s: Served;
  let sa: Served;
  before(async () => {
    s = await serve(echo);
    sa = await serve(echoAsync);
  });
  after(async () => {
    await s.listener.close(100);
    await sa.listener.close(100);
  });

  test("GET with nginx's uwsgi_params: raw status line, environ normalised, no chunking", async () => {
    const r = await request(s.target, nginxVars("GET", "/a%20b/c?x=1&y=%2F", { HTTP_COOKIE: "k=v", HTTP_X_FORWARDED_FOR: "10.0.0.1" }));
    assert.equal(r.statusLine, "HTTP/1.1 200 OK");
    assert.equal(r.end, "eof");
    assert.deepEqual(header(r, "set-cookie"), ["a=1", "b=2"]);
    assert.deepEqual(header(r, "transfer-encoding"), []);
    assert.deepEqual(header(r, "content-length"), [String(r.body.length)]);
    const env = json(r).env;
    assert.equal(env.SCRIPT_NAME, "");
    assert.equal(env.PATH_INFO, "/a b/c");
    assert.equal(env.QUERY_STRING, "x=1&y=%2F");
    assert.equal(env.REQUEST_URI, "/a%20b/c?x=1&y=%2F");
    assert.equal("CONTENT_LENGTH" in env, false, "nginx's empty CONTENT_LENGTH is dropped");
    assert.equal("CONTENT_TYPE" in env, false, "nginx's empty CONTENT_TYPE is dropped");
    assert.equal(env.HTTP_COOKIE, "k=v");
    assert.equal(env.SERVER_PROTOCOL, "HTTP/1.1");
  });

  test("a one-string body, ASCII or not, short or long, goes out byte for byte with its UTF-8 length", async () => {
    const texts: Record<string, string> = { "/ascii": "Hello, World!", "/utf8": "naïve café — 日本語 🎉", "/long": "x".repeat(5000) + "é" };
    const one = await serve(((e: { PATH_INFO: string }, sr: (s: string, h: [string, string][]) => void) => {
      sr("200 OK", [["Content-Type", "text/plain; charset=utf-8"]]);
      return [texts[e.PATH_INFO]];
    }) as unknown as App);
    try {
      for (const [path, text] of Object.entries(texts)) {
        const r = await request(one.target, nginxVars("GET", path));
        const body = Buffer.from(text, "utf8");
        assert.equal(r.raw.toString("latin1"), `HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\n\r\n` + body.toString("latin1"), path);
      }
    } finally {
      await one.listener.close(100);
    }
  });

  test("an HTTP/1.0 request gets an HTTP/1.0 status line", async () => {
    const r = await request(s.target, nginxVars("GET", "/", { SERVER_PROTOCOL: "HTTP/1.0" }));
    assert.equal(r.statusLine, "HTTP/1.0 200 OK");
  });

  test("a response without Content-Length is delimited by the close, never chunked", async () => {
    const r = await request(s.target, nginxVars("GET", "/stream"));
    assert.equal(r.statusLine, "HTTP/1.1 200 OK");
    assert.deepEqual(header(r, "transfer-encoding"), []);
    assert.deepEqual(header(r, "content-length"), []);
    assert.equal(r.body.toString(), "one\ntwo\nthree\n");
    assert.equal(r.end, "eof");
  });

  test("an app's own status and reason go out as the status line", async () => {
    const r = await request(s.target, nginxVars("GET", "/status/418"));
    assert.equal(r.statusLine, "HTTP/1.1 418 Custom");
  });

  test("HEAD: headers only", async () => {
    const r = await request(s.target, nginxVars("HEAD", "/"));
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 0);
  });

  test("POST body bounded by CONTENT_LENGTH, arriving in pieces, to a sync app", async () => {
    const body = Buffer.alloc(100_000, 7);
    const packet = encodePacket(nginxVars("POST", "/up", { CONTENT_LENGTH: "100000", CONTENT_TYPE: "application/octet-stream" }), body);
    const pieces = [packet.subarray(0, 3), packet.subarray(3, 200), packet.subarray(200, 50_000), packet.subarray(50_000)];
    const x = await exchange(s.target, pieces, { gapMs: 10 });
    const r = parseResponse(x.bytes, x.end);
    assert.equal(r.status, 200);
    const j = json(r);
    assert.equal(j.bodyLength, 100_000);
    assert.equal(j.env.CONTENT_LENGTH, "100000");
    assert.equal(j.env.CONTENT_TYPE, "application/octet-stream");
  });

  test("bytes past CONTENT_LENGTH are not body", async () => {
    const r = await request(s.target, nginxVars("POST", "/", { CONTENT_LENGTH: "3" }), Buffer.from("abcdef"));
    assert.equal(json(r).bodyLength, 3);
  });

  test("async app: body streamed in chunks, response in two body events", async () => {
    const body = Buffer.alloc(1_000_000, 1);
    const r = await request(sa.target, nginxVars("PUT", "/x", { CONTENT_LENGTH: String(body.length) }), body);
    const j = json(r);
    assert.equal(r.status, 200);
    assert.equal(j.bodyLength, 1_000_000);
    assert.ok(j.chunks >= 1);
    assert.deepEqual(header(r, "transfer-encoding"), []);
  });

  test("backpressure: a slow async reader stops the sender (the socket is paused)", async () => {
    const total = 64 * 1024 * 1024;
    const { connect } = await import("node:net");
    const t = sa.target as { host: string; port: number };
    const sock = connect(t.port, t.host);
    await new Promise((r) => sock.once("connect", r));
    const chunks: Buffer[] = [];
    sock.on("data", (d) => chunks.push(d));
    const ended = new Promise((r) => sock.once("end", r));
    sock.write(encodePacket(nginxVars("POST", "/slow-read", { CONTENT_LENGTH: String(total) })));
    const piece = Buffer.alloc(1024 * 1024, 3);
    let queued = 0;
    const pump = () => {
      while (queued < total) {
        queued += piece.length;
        if (!sock.write(piece)) return void sock.once("drain", pump);
      }
    };
    pump();
    await new Promise((r) => setTimeout(r, 400)); // the app sleeps 600 ms after its first chunk
    const flushed = sock.bytesWritten - sock.writableLength;
    assert.ok(flushed < total / 4, `only socket buffers' worth went out while the app slept (${flushed} bytes)`);
    await ended;
    const j = json(parseResponse(Buffer.concat(chunks)));
    assert.equal(j.bodyLength, total);
    sock.destroy();
  });

  test("an app that never reads an 8 MB body: full response, then FIN, not RST (body drained)", async () => {
    const body = Buffer.alloc(8 * 1024 * 1024, 9);
    for (let i = 0; i < 3; i++) {
      const r = await request(s.target, nginxVars("POST", "/early", { CONTENT_LENGTH: String(body.length) }), body);
      assert.equal(r.statusLine, "HTTP/1.1 202 Accepted");
      assert.equal(r.body.toString(), "early\n");
      assert.equal(r.end, "eof");
    }
  });

  test("a 65535-byte vars block (a 60 KB cookie) is accepted by default", async () => {
    const base = nginxVars("GET", "/big");
    const fixed = encodeVars(base).length + 4 + "HTTP_COOKIE".length;
    const cookie = "c=" + "x".repeat(65535 - fixed - 2);
    const vars = { ...base, HTTP_COOKIE: cookie };
    assert.equal(encodeVars(vars).length, 65535);
    const r = await request(s.target, vars);
    assert.equal(r.status, 200);
    assert.equal(json(r).env.HTTP_COOKIE.length, cookie.length);
  });

  test("200 concurrent connections", async () => {
    const rs = await Promise.all(Array.from({ length: 200 }, (_, i) => request(s.target, nginxVars("GET", `/c/${i}`))));
    rs.forEach((r, i) => assert.equal(json(r).env.PATH_INFO, `/c/${i}`));
  });

  test("1 and 2 MiB responses written at once arrive whole, then the close (TCP and unix socket)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsgi-uwsgi-"));
    const u = await serve(echo, {}, undefined, { path: join(dir, "big.sock") });
    try {
      for (const t of [s.target, u.target]) {
        for (const n of [1 << 20, 2 << 20]) {
          const r = await request(t, nginxVars("GET", `/big/${n}`));
          assert.equal(r.end, "eof");
          assert.deepEqual(header(r, "content-length"), [String(n)]);
          assert.equal(r.body.length, n);
          assert.ok(r.body.every((b) => b === 0x78), "the body is all x");
        }
      }
    } finally {
      await u.listener.close(100);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("connect-and-close (a port probe) logs nothing", async () => {
    const x = await exchange(s.target, [], { halfClose: true });
    assert.equal(x.bytes.length, 0);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(s.logs, []);
  });
});

describe("uwsgi listener: mount, unix socket, close", () => {
  test("a mount splits SCRIPT_NAME/PATH_INFO from the raw REQUEST_URI", async () => {
    const s = await serve(echoAsync, {}, "/app");
    try {
      const j = json(await request(s.target, nginxVars("GET", "/app/a%20b?q=1")));
      assert.equal(j.env.SCRIPT_NAME, "/app");
      assert.equal(j.env.PATH_INFO, "/a b");
      assert.equal(j.rootPath, "/app");
      assert.equal(j.path, "/app/a b");
    } finally {
      await s.listener.close(100);
    }
  });

  test("unix socket: serves, replaces a stale socket file, removes it on close", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsgi-uwsgi-"));
    const path = join(dir, "app.sock");
    try {
      // A stale socket: listened on by a server that is gone.
      const { createServer } = await import("node:net");
      const dead = createServer();
      await new Promise<void>((r) => dead.listen(path, r));
      (dead as unknown as { _handle: { close(): void } | null })._handle?.close(); // close without unlinking
      const s = await serve(echo, { socketMode: 0o660 }, undefined, { path });
      assert.equal(s.listener.url, `uwsgi://unix:${path}`);
      const r = await request({ path }, nginxVars("GET", "/u"));
      assert.equal(json(r).env.PATH_INFO, "/u");
      assert.equal(json(r).env.REMOTE_ADDR, "127.0.0.1", "the front server's REMOTE_ADDR is kept");
      await s.listener.close(100);
      await assert.rejects(listen(new Gateway(echo), { path: join(dir, "no/such/dir.sock") }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a path that is not a socket is not removed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsgi-uwsgi-"));
    const path = join(dir, "file");
    writeFileSync(path, "keep");
    try {
      await assert.rejects(listen(new Gateway(echo), { path }), /: the path exists and is not a socket \(move the file away, or give another path\)$/);
      assert.equal(readFileSync(path, "utf8"), "keep");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("close() lets an in-flight request finish", async () => {
    const s = await serve(echoAsync);
    const body = Buffer.alloc(10, 1);
    const pending = exchange(s.target, [encodePacket(nginxVars("POST", "/slow-read", { CONTENT_LENGTH: "10" }), body.subarray(0, 5)), body.subarray(5)], { gapMs: 100 });
    await new Promise((r) => setTimeout(r, 30));
    await s.listener.close(5000);
    const r = parseResponse((await pending).bytes);
    assert.equal(json(r).bodyLength, 10);
  });

  test("accessLog: one line per request with method, URI, status and bytes", async () => {
    const lines: string[] = [];
    const listener = await listen(new Gateway(echo, { log: () => {} }), { host: "127.0.0.1", port: 0 }, { accessLog: (l) => lines.push(l) });
    const port = Number(listener.url.split(":").pop());
    try {
      const r = await request({ host: "127.0.0.1", port }, nginxVars("GET", "/status/404?q"));
      assert.equal(r.status, 404);
      assert.equal(lines.length, 1);
      assert.match(lines[0], /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/status\/404\?q HTTP\/1\.1" 404 0 [\d.]+ms$/);
    } finally {
      await listener.close(100);
    }
  });

  test("bad options are refused with the allowed range", async () => {
    await assert.rejects(listen(new Gateway(echo), { host: "127.0.0.1", port: 0 }, { bufferSize: 70000 }), /64 to 65535/);
  });
});

/**
 * On Node the raw path reads a connection's first bytes at accept into one buffer shared by all
 * connections. Whatever outlives that read (a partial packet, body bytes that came with it)
 * must be copied: these two fail if another connection's bytes overwrite them. To be sure the
 * bytes are there at accept, a worker thread connects and writes while this thread is blocked.
 */
describe("uwsgi listener: bytes read at accept outlive the next connection", () => {
  let dir: string;
  let u: Served;
  let open: () => void;
  const gate = new Promise<void>((r) => (open = r));
  // Waits at /late until the gate opens, then reads the body; otherwise echoAsync.
  const app: AsyncApp = async (scope, receive, send) => {
    if (scope.type === "http" && (scope as HttpScope).path === "/late") await gate;
    return echoAsync(scope, receive, send);
  };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "tsgi-uwsgi-"));
    u = await serve(app, {}, undefined, { path: join(dir, "first.sock") });
  });
  after(async () => {
    await u.listener.close(100);
    rmSync(dir, { recursive: true, force: true });
  });
  const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
  const path = () => (u.target as { path: string }).path;

  test("a body that came with the packet, read by the app after other connections", async () => {
    const body = Buffer.alloc(4096, 0x41);
    const late = sentBeforeAccept(path(), [encodePacket(nginxVars("POST", "/late", { CONTENT_LENGTH: "4096" }), body)]);
    for (let i = 1; i <= 3; i++) {
      const j = json(parseResponse(await sentBeforeAccept(path(), [encodePacket(nginxVars("POST", `/o${i}`, { CONTENT_LENGTH: "4096" }), Buffer.alloc(4096, 0x41 + i))])));
      assert.equal(j.bodySha256, sha(Buffer.alloc(4096, 0x41 + i)));
    }
    open();
    const j = json(parseResponse(await late));
    assert.equal(j.bodyLength, 4096);
    assert.equal(j.bodySha256, sha(body), "the late app reads its own body");
  });

  test("a packet whose first bytes came at accept and the rest later", async () => {
    // QUERY_STRING is the first var, so the first 40 bytes differ between the requests.
    const packet = encodePacket(nginxVars("GET", `/split?${"a".repeat(30)}`));
    const late = sentBeforeAccept(path(), [packet.subarray(0, 40), packet.subarray(40)], 300);
    for (let i = 1; i <= 3; i++) {
      const r = parseResponse(await sentBeforeAccept(path(), [encodePacket(nginxVars("GET", `/o${i}?${"b".repeat(30)}`))]));
      assert.equal(json(r).env.PATH_INFO, `/o${i}`);
    }
    const r = parseResponse(await late);
    assert.equal(r.status, 200);
    assert.equal(json(r).env.QUERY_STRING, "a".repeat(30));
    assert.equal(json(r).env.PATH_INFO, "/split");
    assert.deepEqual(u.logs, []);
  });
});

/**
 * Connect to `path` from a worker thread and write `pieces` (`gapMs` apart) while this thread
 * waits, blocked, for the first piece to be written: the listener then finds it at accept.
 * Resolves with everything the listener sent until it closed.
 */
function sentBeforeAccept(path: string, pieces: Uint8Array[], gapMs = 0): Promise<Buffer> {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { workerData: w, parentPort } = require("node:worker_threads");
     const s = require("node:net").connect(w.path);
     const got = [];
     s.on("data", (d) => got.push(d));
     s.on("close", () => parentPort.postMessage(Buffer.concat(got)));
     s.on("connect", () => s.write(w.pieces[0], () => {
       Atomics.store(w.flag, 0, 1);
       Atomics.notify(w.flag, 0);
       if (w.pieces.length > 1) setTimeout(() => s.write(w.pieces[1]), w.gapMs);
     }));`,
    { eval: true, workerData: { path, pieces, gapMs, flag } },
  );
  const reply = new Promise<Buffer>((resolve, reject) => {
    worker.once("message", (b: Uint8Array) => resolve(Buffer.from(b)));
    worker.once("error", reject);
  });
  Atomics.wait(flag, 0, 0, 5000);
  return reply.finally(() => worker.terminate());
}

describe("uwsgi listener: bad input gets one log line and a clean close", () => {
  for (const [kind, app] of [["sync", echo], ["async", echoAsync]] as const) {
    describe(`${kind} app`, () => {
      let s: Served;
      before(async () => {
        s = await serve(app, { readTimeout: 300, bufferSize: 4096 });
      });
      after(() => s.listener.close(100));

      async function bad(data: Uint8Array | Uint8Array[], opts: { halfClose?: boolean; gapMs?: number }, status: number, logPattern: RegExp) {
        s.logs.length = 0;
        const x = await exchange(s.target, data, { timeoutMs: 3000, ...opts });
        assert.equal(x.end, "eof", "closed cleanly by the listener");
        const r = parseResponse(x.bytes, x.end);
        assert.equal(r.status, status, r.body.toString());
        await new Promise((res) => setTimeout(res, 20));
        assert.equal(s.logs.length, 1, `exactly one log line, got ${JSON.stringify(s.logs)}`);
        assert.match(s.logs[0], logPattern);
        await assertStillServes(s);
      }

      test("modifier1 other than 0 is answered 501", async () => {
        await bad(encodePacket({ REQUEST_METHOD: "GET" }, undefined, 5), {}, 501, /modifier1 5 is not supported/);
      });

      test("vars lengths overrunning the block: 400", async () => {
        const p = encodePacket(nginxVars("GET", "/"));
        p[4] = 0xff; // the first key claims 255 bytes... of a block that ends sooner
        p[5] = 0xff;
        await bad(p, {}, 400, /malformed uwsgi vars block: key of 65535 bytes/);
      });

      test("a vars block above the configured limit: 431", async () => {
        await bad(encodePacket(nginxVars("GET", "/", { HTTP_COOKIE: "x".repeat(5000) })), {}, 431, /exceeds the limit of 4096 bytes/);
      });

      test("a packet truncated inside the header", async () => {
        await bad(Uint8Array.from([0, 0x10]), { halfClose: true }, 400, /truncated uwsgi packet: the peer closed after 2 bytes of the 4-byte packet header/);
      });

      test("a packet truncated inside the vars block", async () => {
        const p = encodePacket(nginxVars("GET", "/"));
        await bad(p.subarray(0, 40), { halfClose: true }, 400, /truncated uwsgi packet: the peer closed after 40 bytes/);
      });

      test("a body shorter than CONTENT_LENGTH, then EOF", async () => {
        await bad(encodePacket(nginxVars("POST", "/", { CONTENT_LENGTH: "100" }), Buffer.alloc(10)), { halfClose: true }, 400, /ended after 10 of 100 announced bytes/);
      });

      test("a peer that stalls inside the packet: 408 after readTimeout", async () => {
        await bad(encodePacket(nginxVars("GET", "/")).subarray(0, 30), {}, 408, /no complete uwsgi packet after 0.3 s \(got 30 bytes/);
      });

      test("a peer that stalls inside the body: 400 after readTimeout", async () => {
        await bad(encodePacket(nginxVars("POST", "/", { CONTENT_LENGTH: "100" }), Buffer.alloc(10)), {}, 400, /request body stalled: the uwsgi peer sent 10 of 100 announced bytes, then nothing for 0.3 s/);
      });

      test("a peer that takes none of a large response: closed after readTimeout, one log line", async () => {
        if (kind === "async") return; // the sync app's one-chunk body is the case; async streams wait per write
        // A unix socket: its buffers (~200 KB) are far below the body, unlike TCP on loopback.
        const dir = mkdtempSync(join(tmpdir(), "tsgi-uwsgi-"));
        const u = await serve(app, { readTimeout: 300 }, undefined, { path: join(dir, "stall.sock") });
        try {
          for (const n of [1 << 20, 4 << 20]) {
            u.logs.length = 0;
            const sock = connect((u.target as { path: string }).path);
            sock.pause(); // read nothing
            sock.write(encodePacket(nginxVars("GET", `/big/${n}`)));
            await new Promise((r) => setTimeout(r, 1200)); // readTimeout 300 ms, the sweep every 75 ms
            assert.equal(u.logs.length, 1, `exactly one log line, got ${JSON.stringify(u.logs)}`);
            assert.match(u.logs[0], /the peer took no response bytes for 0\.3 s \(readTimeout\); connection closed/);
            let got = 0;
            sock.on("data", (d: Buffer) => (got += d.length));
            sock.on("error", () => {});
            await new Promise<void>((r) => sock.once("close", () => r()).resume());
            assert.ok(got < n, `the response was cut (${got} of ${n} bytes)`);
            await assertStillServes(u);
          }
        } finally {
          await u.listener.close(100);
          rmSync(dir, { recursive: true, force: true });
        }
      });

      test("a CONTENT_LENGTH that is not a number: 400 from the core", async () => {
        await bad(encodePacket(nginxVars("POST", "/", { CONTENT_LENGTH: "12x" }), Buffer.alloc(3)), {}, 400, /Content-Length "12x" is not a number/);
      });
    });
  }
});
