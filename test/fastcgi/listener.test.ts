/**
 * The FastCGI listener against a test-side client: roles, keep-conn, multiplexing, management
 * records, abort, streaming and the CGI response, byte for byte where the spec fixes them.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Gateway } from "../../src/index.ts";
import { listen } from "../../adapters/fastcgi/index.ts";
import { asyncApp, gates, seen, serveApp, syncApp, type Running } from "./apps.ts";
import { begin, cgi, Client, once, pairs, parseCgi, rec, request, stream, T } from "./client.ts";

let sync: Running;
let async_: Running;
before(async () => {
  sync = await serveApp(syncApp);
  async_ = await serveApp(asyncApp);
});
after(async () => {
  await sync.close();
  await async_.close();
});

describe("responder", () => {
  test("the minimal exchange of protocols.md §1.12, byte for byte", async () => {
    const c = await Client.open(sync.target);
    await c.send(Buffer.concat([begin(1, 1, 0), stream(T.PARAMS, 1, pairs(cgi("/"))), rec(T.STDIN, 1)]));
    await c.ended(1);
    await c.closedByServer();
    const bytes = Buffer.concat(c.log.map((r) => rec(r.type, r.id, r.content, r.padding)));
    const body = "Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
    const expected = Buffer.concat([rec(T.STDOUT, 1, body), rec(T.STDOUT, 1), Buffer.from("0103000100080000" + "0000000000000000", "hex")]);
    assert.equal(bytes.toString("hex"), expected.toString("hex"));
    assert.equal(c.log[0].padding, -body.length & 7);
  });

  test("maxConns: a connection past the limit is closed at once; others are served, and a freed slot is used again", async () => {
    const s = await serveApp(syncApp, { maxConns: 2 });
    const idle = [await Client.open(s.target), await Client.open(s.target)];
    try {
      const third = await Client.open(s.target);
      await third.closedByServer(2000);
      assert.equal(third.log.length, 0, "no record for a refused connection");
      await idle[0].send(Buffer.concat([begin(1, 1, 0), stream(T.PARAMS, 1, pairs(cgi("/"))), rec(T.STDIN, 1)]));
      assert.equal(parseCgi((await idle[0].ended(1)).stdout).body.toString(), "hello");
      await idle[0].closedByServer();
      // The server has forgotten the finished connection: a new one gets in.
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(parseCgi((await once(s.target, cgi("/"))).stdout).body.toString(), "hello");
    } finally {
      for (const c of idle) c.destroy();
      await s.close();
    }
  });

  test("webServerAddrs (FCGI_WEB_SERVER_ADDRS): a TCP peer not listed is closed with one log line; a listed one is served", async () => {
    const refused = await serveApp(syncApp, { webServerAddrs: ["10.9.9.9", " "] });
    const listed = await serveApp(syncApp, { webServerAddrs: ["10.9.9.9", "127.0.0.1"] });
    try {
      const c = await Client.open(refused.target);
      await c.send(Buffer.concat([begin(1, 1, 0), stream(T.PARAMS, 1, pairs(cgi("/"))), rec(T.STDIN, 1)])).catch(() => {});
      if ("path" in refused.target) {
        // A unix socket has no peer address: the list is for TCP only (fcgi-spec §3.2).
        assert.equal(parseCgi((await c.ended(1)).stdout).body.toString(), "hello");
        assert.deepEqual(refused.logs, []);
      } else {
        await c.closedByServer();
        assert.equal(c.log.length, 0, "no record for a refused peer");
        assert.deepEqual(refused.logs, ["fastcgi: connection from 127.0.0.1 refused: not in FCGI_WEB_SERVER_ADDRS"]);
      }
      c.destroy();
      assert.equal(parseCgi((await once(listed.target, cgi("/"))).stdout).body.toString(), "hello");
      assert.deepEqual(listed.logs, []);
    } finally {
      await refused.close();
      await listed.close();
    }
  });

  test("the body is STDIN up to its empty record, whatever CONTENT_LENGTH and Transfer-Encoding say", async () => {
    const r = await once(sync.target, cgi("/echo", { REQUEST_METHOD: "POST", CONTENT_LENGTH: "", HTTP_TRANSFER_ENCODING: "chunked" }), "abc\r\n0\r\n");
    const res = parseCgi(r.stdout);
    assert.equal(res.body.toString(), "abc\r\n0\r\n");
    assert.equal(res.headers["x-content-length"], "8");
    assert.equal(res.headers["transfer-encoding"], undefined);
  });

  test("PARAMS are one byte stream: pairs straddling records, even 1-byte records", async () => {
    const long = "v".repeat(9000);
    const params = pairs(cgi("/environ", { HTTP_X_LONG: long, HTTP_COOKIE: "a=1" }).valueOf() as Record<string, string>);
    for (const size of [1, 7, 8184]) {
      const c = await Client.open(sync.target);
      await c.send(Buffer.concat([begin(1), stream(T.PARAMS, 1, params, size), rec(T.STDIN, 1)]));
      const env = JSON.parse(parseCgi((await c.ended(1)).stdout).body.toString());
      assert.equal(env.HTTP_X_LONG, long, `record size ${size}`);
      assert.equal(env.HTTP_COOKIE, "a=1");
      c.destroy();
    }
  });

  test("repeated HTTP_COOKIE (nginx <= 1.22) is joined with '; ', other headers with ', '", async () => {
    const c = await Client.open(sync.target);
    const p = pairs([...Object.entries(cgi("/environ")), ["HTTP_COOKIE", "a=1"], ["HTTP_COOKIE", "b=2"], ["HTTP_ACCEPT", "x"], ["HTTP_ACCEPT", "y"]] as [string, string][]);
    await c.send(Buffer.concat([begin(1), stream(T.PARAMS, 1, p), rec(T.STDIN, 1)]));
    const env = JSON.parse(parseCgi((await c.ended(1)).stdout).body.toString());
    assert.equal(env.HTTP_COOKIE, "a=1; b=2");
    assert.equal(env.HTTP_ACCEPT, "x, y");
    c.destroy();
  });

  test("STDOUT records carry at most 65528 content bytes, padded to 8", async () => {
    const r = await once(sync.target, cgi("/big/200000"));
    const res = parseCgi(r.stdout);
    assert.equal(res.body.length, 200000);
    for (let i = 0; i < res.body.length; i++) if (res.body[i] !== (i & 255)) assert.fail(`byte ${i}`);
    for (const x of r.records) {
      assert.ok(x.content.length <= 65528, `record of ${x.content.length}`);
      assert.equal((x.content.length + x.padding) % 8, 0);
    }
  });

  test("body bytes are never parsed as headers; Status carries the app's reason", async () => {
    const r = await once(sync.target, cgi("/literal"));
    assert.equal(r.stdout.toString("latin1"), "Status: 404 Not Here\r\nContent-Type: text/plain\r\ncontent-length: 28\r\n\r\nStatus: 200 OK\r\n\r\nFoo: bar\r\n");
  });

  test("a streamed response has no Transfer-Encoding and no chunk framing", async () => {
    const r = await once(async_.target, cgi("/stream"));
    assert.equal(r.stdout.toString(), "Status: 200 OK\r\ncontent-type: text/plain\r\n\r\npart 0\npart 1\npart 2\n");
  });

  test("tsgi.errors goes out as STDERR records of the request", async () => {
    const r = await once(sync.target, cgi("/stderr"));
    assert.equal(r.stderr.toString(), "something to log\n");
    assert.equal(parseCgi(r.stdout).body.toString(), "ok");
  });

  test("environ from nginx-style params: empty CONTENT_*, HTTP_CONTENT_* duplicates, HTTPS, raw REQUEST_URI", async () => {
    const r = await once(sync.target, {
      REQUEST_METHOD: "GET", REQUEST_URI: "/f/a%20b?x=1", SCRIPT_NAME: "/f/a b", DOCUMENT_URI: "/f/a b", QUERY_STRING: "x=1",
      CONTENT_TYPE: "", CONTENT_LENGTH: "", HTTP_CONTENT_TYPE: "text/x", SERVER_NAME: "h", SERVER_PORT: "443",
      SERVER_PROTOCOL: "HTTP/1.1", HTTPS: "on", PATH_INFO: "/environ",
    });
    const env = JSON.parse(parseCgi(r.stdout).body.toString());
    assert.equal(env.CONTENT_TYPE, "text/x");
    assert.equal("CONTENT_LENGTH" in env, false);
    assert.equal("HTTP_CONTENT_TYPE" in env, false);
    assert.equal(env["tsgi.url_scheme"], "https");
    assert.equal(env.REQUEST_URI, "/f/a%20b?x=1");
  });

  test("Apache's proxy:fcgi:// prefix is removed from SCRIPT_FILENAME", async () => {
    const r = await once(sync.target, cgi("/environ", { SCRIPT_FILENAME: "proxy:fcgi://127.0.0.1:9000/a%20b/c" }));
    assert.equal(JSON.parse(parseCgi(r.stdout).body.toString()).SCRIPT_FILENAME, "/a%20b/c");
  });

  test("a configured mount splits SCRIPT_NAME/PATH_INFO from REQUEST_URI (nginx sends the whole path as SCRIPT_NAME)", async () => {
    const m = await serveApp(syncApp, { mount: "/app" });
    try {
      const r = await once(m.target, { REQUEST_METHOD: "GET", REQUEST_URI: "/app/environ?q", SCRIPT_NAME: "/app/environ", QUERY_STRING: "q", SERVER_PROTOCOL: "HTTP/1.1" });
      const env = JSON.parse(parseCgi(r.stdout).body.toString());
      assert.equal(env.SCRIPT_NAME, "/app");
      assert.equal(env.PATH_INFO, "/environ");
    } finally {
      await m.close();
    }
  });
});

describe("connections", () => {
  test("FCGI_KEEP_CONN set: several requests on one connection, which stays open", async () => {
    const c = await Client.open(sync.target);
    for (let i = 1; i <= 3; i++) {
      await c.send(request(1, cgi(`/r${i}`), "", { flags: 1 }));
      await c.until(() => c.log.filter((r) => r.type === T.END).length === i, `END_REQUEST #${i}`);
    }
    assert.equal(c.closed, false);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(c.closed, false, "the web server owns a kept connection");
    c.destroy();
  });

  test("FCGI_KEEP_CONN clear: the application closes after END_REQUEST", async () => {
    const c = await Client.open(sync.target);
    await c.send(request(1, cgi("/")));
    await c.ended(1);
    await c.closedByServer();
  });

  test("multiplexing: two requests interleaved on one connection finish in their own order", async () => {
    const c = await Client.open(async_.target);
    // Interleave the records of ids 1 and 3, as HAProxy does.
    await c.send(Buffer.concat([begin(1, 1, 1), begin(3, 1, 1), stream(T.PARAMS, 3, pairs(cgi("/fast"))), stream(T.PARAMS, 1, pairs(cgi("/wait/mpx"))), rec(T.STDIN, 3), rec(T.STDIN, 1)]));
    const three = await c.ended(3);
    assert.equal(parseCgi(three.stdout).body.toString(), "async /fast");
    assert.equal(c.replies.get(1)?.end, undefined);
    gates.get("mpx")!();
    const one = await c.ended(1);
    assert.equal(parseCgi(one.stdout).body.toString(), "/wait/mpx");
    c.destroy();
  });

  test("1000 requests multiplexed on one connection, each with its own body, sent at once: every one answered with its own bytes", async () => {
    // What a multiplexing front (HAProxy with mpxs-conns) could send at worst; HAProxy 2.6
    // itself fails under such load (examples/deploy/haproxy-fcgi.cfg), tsgi must not.
    const c = await Client.open(sync.target);
    const n = 1000;
    const bodies = Array.from({ length: n }, (_, i) => Buffer.alloc(i * 37 % 5000, 97 + (i % 26)));
    await c.send(Buffer.concat(bodies.map((b, i) => request(2 * i + 1, cgi("/echo", { REQUEST_METHOD: "POST", CONTENT_LENGTH: String(b.length) }), b, { flags: 1 }))));
    for (let i = 0; i < n; i++) {
      const r = await c.ended(2 * i + 1, 20_000);
      assert.deepEqual(r.end, { appStatus: 0, protocolStatus: 0 }, `request ${2 * i + 1}`);
      const got = parseCgi(r.stdout);
      assert.equal(got.status, 200);
      assert.ok(got.body.equals(bodies[i]), `request ${2 * i + 1}: ${got.body.length} bytes back, ${bodies[i].length} sent`);
    }
    c.destroy();
  });

  test("GET_VALUES is answered with the three known names only", async () => {
    const c = await Client.open(sync.target);
    await c.send(rec(T.GET_VALUES, 0, pairs([["FCGI_MAX_CONNS", ""], ["FCGI_MAX_REQS", ""], ["FCGI_MPXS_CONNS", ""], ["X_UNKNOWN", ""]])));
    await c.until(() => c.management.length === 1, "GET_VALUES_RESULT");
    const r = c.management[0];
    assert.equal(r.type, T.GET_VALUES_RESULT);
    assert.equal(r.content.toString("hex"), pairs([["FCGI_MAX_CONNS", "1024"], ["FCGI_MAX_REQS", "1024"], ["FCGI_MPXS_CONNS", "1"]]).toString("hex"));
    // HAProxy's exact query (protocols.md §1.8), then a request on the same connection.
    await c.send(Buffer.from("0109000000200000" + "0d00" + Buffer.from("FCGI_MAX_REQS").toString("hex") + "0f00" + Buffer.from("FCGI_MPXS_CONNS").toString("hex"), "hex"));
    await c.until(() => c.management.length === 2, "second GET_VALUES_RESULT");
    assert.equal(c.management[1].content.toString("latin1"), "\x0d\x04FCGI_MAX_REQS1024\x0f\x01FCGI_MPXS_CONNS1");
    await c.send(request(1, cgi("/")));
    assert.equal(parseCgi((await c.ended(1)).stdout).body.toString(), "hello");
    c.destroy();
  });

  test("an unknown management record type gets FCGI_UNKNOWN_TYPE", async () => {
    const c = await Client.open(sync.target);
    await c.send(rec(42, 0, "xyz"));
    await c.until(() => c.management.length === 1, "UNKNOWN_TYPE");
    assert.equal(rec(c.management[0].type, 0, c.management[0].content).toString("hex"), "010b000000080000" + "2a00000000000000");
    assert.match(sync.logs.at(-1)!, /unknown type 42/);
    c.destroy();
  });

  test("an unknown role gets END_REQUEST with FCGI_UNKNOWN_ROLE, and its records are skipped", async () => {
    const c = await Client.open(sync.target);
    await c.send(request(1, cgi("/"), "data", { role: 3, flags: 1 }));
    const r = await c.ended(1);
    assert.deepEqual(r.end, { appStatus: 0, protocolStatus: 3 });
    assert.equal(r.stdout.length, 0);
    await c.send(request(1, cgi("/"), "", { flags: 1 }));
    await c.until(() => c.log.filter((x) => x.type === T.END).length === 2, "the next request");
    assert.equal(parseCgi(c.reply(1).stdout).body.toString(), "hello");
    c.destroy();
  });

  test("the AUTHORIZER role starts at the end of PARAMS (mod_authnz_fcgi sends no STDIN)", async () => {
    const c = await Client.open(sync.target);
    await c.send(Buffer.concat([begin(1, 2, 0), stream(T.PARAMS, 1, pairs(cgi("/environ", { REMOTE_PASSWD: "pw", FCGI_APACHE_ROLE: "AUTHORIZER" })))]));
    const env = JSON.parse(parseCgi((await c.ended(1)).stdout).body.toString());
    assert.equal(env.FCGI_ROLE, "AUTHORIZER");
    assert.equal(env.REMOTE_PASSWD, "pw");
    c.destroy();
  });

  test("FCGI_OVERLOADED past the configured concurrency; served again once below", async () => {
    const s = await serveApp(asyncApp, { maxReqs: 1 });
    try {
      const a = await Client.open(s.target);
      await a.send(request(1, cgi("/wait/busy")));
      await a.until(() => gates.has("busy"), "the first request to start");
      const b = await Client.open(s.target);
      await b.send(request(1, cgi("/")));
      assert.deepEqual((await b.ended(1)).end, { appStatus: 0, protocolStatus: 2 });
      assert.ok(s.logs.some((l) => /refused request 1: 1 requests in progress \(the limit is 1\)/.test(l)), s.logs.join("\n"));
      gates.get("busy")!();
      await a.ended(1);
      await new Promise((r) => setTimeout(r, 20));
      const r = await once(s.target, cgi("/after"));
      assert.equal(parseCgi(r.stdout).body.toString(), "async /after");
    } finally {
      await s.close();
    }
  });

  test("multiplexing off: a second request on the connection gets FCGI_CANT_MPX_CONN", async () => {
    const s = await serveApp(asyncApp, { multiplex: false });
    try {
      const c = await Client.open(s.target);
      await c.send(Buffer.concat([request(1, cgi("/wait/single"), "", { flags: 1 }), request(2, cgi("/"), "", { flags: 1 })]));
      assert.deepEqual((await c.ended(2)).end, { appStatus: 0, protocolStatus: 1 });
      await c.until(() => gates.has("single"), "request 1 started");
      gates.get("single")!();
      assert.equal((await c.ended(1)).end?.protocolStatus, 0);
      c.destroy();
    } finally {
      await s.close();
    }
  });
});

describe("abort and input flow", () => {
  test("ABORT_REQUEST reaches an async app as http.disconnect and still ends the request", async () => {
    const c = await Client.open(async_.target);
    await c.send(Buffer.concat([begin(1, 1, 1), stream(T.PARAMS, 1, pairs(cgi("/disconnect/a1", { REQUEST_METHOD: "POST" }))), rec(T.STDIN, 1, "partial")]));
    await new Promise((r) => setTimeout(r, 50));
    await c.send(rec(T.ABORT, 1));
    const r = await c.ended(1);
    assert.deepEqual(r.end, { appStatus: 0, protocolStatus: 0 });
    await c.until(() => seen["disconnect-a1"] === true, "http.disconnect in the app");
    // The connection stays usable: the rest of request 1's STDIN is skipped, a new request works.
    await c.send(Buffer.concat([rec(T.STDIN, 1, "more"), rec(T.STDIN, 1), request(1, cgi("/next"), "", { flags: 1 })]));
    await c.until(() => c.log.filter((x) => x.type === T.END).length === 2, "the next request");
    assert.equal(parseCgi(c.reply(1).stdout).body.toString(), "async /next");
    c.destroy();
  });

  test("ABORT_REQUEST reaches a sync app's streaming body: close() is called", async () => {
    const c = await Client.open(sync.target);
    await c.send(request(1, cgi("/close/s1"), "", { flags: 1 }));
    await c.until(() => c.reply(1).stdout.length > 0, "the first chunk");
    await c.send(rec(T.ABORT, 1));
    await c.ended(1);
    await c.until(() => seen["closed-s1"] === true, "close() in the app");
    c.destroy();
  });

  test("the web server closing the connection reaches the app too", async () => {
    const c = await Client.open(async_.target);
    await c.send(Buffer.concat([begin(1), stream(T.PARAMS, 1, pairs(cgi("/disconnect/c1", { REQUEST_METHOD: "POST" })))]));
    await new Promise((r) => setTimeout(r, 50));
    c.destroy();
    const deadline = Date.now() + 3000;
    while (seen["disconnect-c1"] !== true && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(seen["disconnect-c1"], true);
  });

  test("a web server that half-closes after its request (libfcgi's cgi-fcgi) still reads the whole response", async () => {
    // cgi-fcgi calls shutdown(SHUT_WR) once its stdin is done, maybe mid-response. A response too big for the
    // socket buffers was cut at that EOF: under load cgi-fcgi got ~3 of 5 MiB (a CI run).
    for (const path of ["/big/8388608", "/chunks/8388608"]) {
      const c = await Client.open(sync.target);
      c.socket.pause(); // read nothing until the server has seen our EOF with output pending
      await c.send(request(1, cgi(path)));
      c.socket.end();
      await new Promise((r) => setTimeout(r, 300));
      c.socket.resume();
      const r = await c.ended(1, 10_000);
      const body = parseCgi(r.stdout).body;
      assert.equal(body.length, 8388608, path);
      for (let i = 0; i < body.length; i += 4099) assert.equal(body[i], i & 255, `${path}: byte ${i}`);
      await c.closedByServer(2000);
    }
  });

  test("a reader slower than the 5 s the server waits for a closing peer still gets the whole response", async () => {
    // After its last record the server half-closes and waits for the peer's EOF, at most 5 s
    // (LINGER_MS); output still queued for a slow reader then was dropped with the socket.
    const c = await Client.open(sync.target);
    c.socket.pause();
    await c.send(request(1, cgi("/big/8388608")));
    await new Promise((r) => setTimeout(r, 6500));
    c.socket.resume();
    const r = await c.ended(1, 10_000);
    assert.equal(parseCgi(r.stdout).body.length, 8388608);
    await c.closedByServer(7000);
  });

  test("output the web server stops taking: the connection is closed after readTimeout (at least 5 s) with one log line", async () => {
    const app = await serveApp(syncApp, { readTimeout: 1000 });
    try {
      const c = await Client.open(app.target);
      c.socket.pause(); // takes nothing, ever
      await c.send(request(1, cgi("/big/8388608")));
      const t0 = Date.now();
      while (app.logs.length === 0 && Date.now() - t0 < 9000) await new Promise((r) => setTimeout(r, 50));
      assert.ok(Date.now() - t0 >= 4500, `gave up after ${Date.now() - t0} ms: a stalled reader gets at least 5 s`);
      // What the kernel already holds still arrives, then the close; no END_REQUEST.
      c.socket.resume();
      await c.closedByServer(5000);
      assert.equal(c.reply(1).end, undefined);
      assert.equal(app.logs.length, 1, app.logs.join("\n"));
      assert.match(app.logs[0], /^fastcgi: the web server took none of the \d+ bytes of output waiting for it for \d+ s \(readTimeout 1000 ms\); connection closed$/);
    } finally {
      await app.close();
    }
  });

  test("a half-closed connection whose request still lacks STDIN: the request ends as if the peer had gone", async () => {
    const c = await Client.open(async_.target);
    await c.send(Buffer.concat([begin(1), stream(T.PARAMS, 1, pairs(cgi("/disconnect/h1", { REQUEST_METHOD: "POST" })))]));
    await new Promise((r) => setTimeout(r, 50));
    c.socket.end();
    await c.until(() => seen["disconnect-h1"] === true, "http.disconnect in the app");
    await c.closedByServer(2000);
  });

  test("STDIN streams into an async app with backpressure: the socket is not read while the app does not read", async () => {
    const c = await Client.open(async_.target);
    const size = 24 * 1024 * 1024;
    const body = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) body[i] = (i >> 12) & 255;
    await c.send(Buffer.concat([begin(1), stream(T.PARAMS, 1, pairs(cgi("/slow-read", { REQUEST_METHOD: "POST", CONTENT_LENGTH: String(size) })))]));
    let queued = true;
    c.socket.write(stream(T.STDIN, 1, body, 32768), () => (queued = false));
    await new Promise((r) => setTimeout(r, 400));
    // The server stopped reading at its high-water mark, so most of the 24 MiB is still on our side.
    assert.equal(queued, true, "the whole body was accepted although the app read nothing");
    gates.get("read")!();
    const r = await c.ended(1, 20_000);
    const { createHash } = await import("node:crypto");
    assert.equal(parseCgi(r.stdout).body.toString(), `${size} ${createHash("sha256").update(body).digest("hex")}`);
    c.destroy();
  });

  test("an app answering without reading the body: the rest of STDIN is drained, no reset", async () => {
    const c = await Client.open(async_.target);
    const body = Buffer.alloc(4 * 1024 * 1024, 0x61);
    let err: Error | null = null;
    c.socket.on("error", (e) => (err = e));
    // Everything but the last STDIN records first; the app answers once PARAMS end.
    await c.send(Buffer.concat([begin(1), stream(T.PARAMS, 1, pairs(cgi("/ignore-body", { REQUEST_METHOD: "POST" }))), rec(T.STDIN, 1, "x")]));
    const r = await c.ended(1);
    assert.equal(parseCgi(r.stdout).body.toString(), "async /ignore-body");
    await c.send(stream(T.STDIN, 1, body, 32768));
    await c.closedByServer();
    assert.equal(err, null, "the server closed gracefully, without a reset");
  });
});

describe("unix socket", () => {
  test("socketMode sets the socket file's permissions; close removes the file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsgi-fcgi-mode-"));
    try {
      for (const mode of [0o660, 0o666, 0o600]) {
        const path = join(dir, `m${mode.toString(8)}.sock`);
        const l = await listen(new Gateway(syncApp, { log: () => {} }), { path }, { socketMode: mode });
        assert.equal(statSync(path).mode & 0o777, mode);
        const r = await once({ path }, cgi("/"));
        assert.equal(parseCgi(r.stdout).body.toString(), "hello");
        await l.close(500);
        assert.equal(existsSync(path), false);
      }
      const gw = new Gateway(syncApp, { log: () => {} });
      for (const bad of [0o1777, -1, 1.5, Number.NaN]) {
        await assert.rejects(listen(gw, { path: join(dir, "bad.sock") }, { socketMode: bad }), /socketMode must be a file mode from 0 to 0o777/);
      }
      assert.equal(existsSync(join(dir, "bad.sock")), false, "a bad mode is refused before binding");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
