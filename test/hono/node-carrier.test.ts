/**
 * tsgi/hono's Node carrier (adapters/hono/node.ts): fetch apps on @hono/node-server's request
 * listener, mounted on tsgi's node:http listener. In process (the carrier is Node's only); the
 * same carrier under `tsgi serve` runs the battery (battery-fetch.test.ts) and examples/hono-app.ts
 * (carriers.test.ts).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { after, describe, test } from "node:test";
import { Hono } from "hono";
import { streamSSE, streamText } from "hono/streaming";
import { listen } from "../../adapters/hono/node.ts";
import { Gateway, type App, type Environ, type Listener } from "../../src/index.ts";
import { listenNode, type TsgiEnv } from "../../adapters/hono/index.ts";
import { fetchRaw, open, sleep } from "../runtimes/client.ts";

const listeners: Listener[] = [];
after(() => Promise.all(listeners.map((l) => l.close(0))));

/** Serve `app` on 127.0.0.1 through the carrier; log lines are collected. */
async function serve(app: App, opts: { maxBody?: number; mount?: string; accessLog?: (l: string) => void } = {}) {
  const lines: string[] = [];
  const gateway = new Gateway(app, { maxBody: opts.maxBody, mount: opts.mount, log: (l) => lines.push(l) });
  const l = await listen(gateway, { host: "127.0.0.1", port: 0 }, { accessLog: opts.accessLog });
  listeners.push(l);
  return { url: l.url, lines, listener: l };
}

/** Send raw bytes, resolve with everything the server sent until it closed. */
function raw(url: string, bytes: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname);
    let got = "";
    s.on("data", (d) => (got += d.toString("latin1")));
    s.on("close", () => resolve(got));
    s.on("error", reject);
    s.write(bytes);
  });
}

const hono = new Hono<TsgiEnv>();
let calls = 0;
hono.use("*", async (_c, next) => {
  calls++;
  await next();
});
hono.get("/hello", (c) => c.text("Hello, World!"));
hono.all("/env/*", (c) => {
  const out: Record<string, unknown> = { lightweight: inspect(c.req.raw).startsWith("Request (lightweight)") };
  for (const [k, v] of Object.entries(c.env)) out[k] = typeof v === "string" || typeof v === "boolean" || k === "tsgi.version" ? v : typeof v;
  return c.json(out);
});
hono.post("/echo", async (c) => c.text(await c.req.text()));
let written = 0;
let aborted = false;
hono.get("/firehose", (c) => {
  written = 0;
  aborted = false;
  c.req.raw.signal.addEventListener("abort", () => (aborted = true));
  return streamText(c, async (s) => {
    const chunk = "x".repeat(64 * 1024);
    for (let i = 0; i < 2000 && !s.aborted; i++) {
      await s.write(chunk);
      written++;
    }
  });
});

describe("tsgi/hono on Node (@hono/node-server carrier)", () => {
  test("c.env is the environ: tsgi.* keys, SCRIPT_NAME/PATH_INFO at the mount, headers, peer", async () => {
    const { url } = await serve(hono, { mount: "/env" });
    const r = await fetchRaw(url, "/env/a%20b/c?x=1&y=%20", { headers: { "X-Thing": "1", Cookie: "k=v" } });
    assert.equal(r.status, 200);
    const e = JSON.parse(r.body.toString());
    assert.equal(e.lightweight, true, "the Request is @hono/node-server's");
    assert.equal(e.REQUEST_METHOD, "GET");
    assert.equal(e.SCRIPT_NAME, "/env");
    assert.equal(e.PATH_INFO, "/a b/c");
    assert.equal(e.QUERY_STRING, "x=1&y=%20");
    assert.equal(e.REQUEST_URI, "/env/a%20b/c?x=1&y=%20");
    assert.equal(e.HTTP_X_THING, "1");
    assert.equal(e.HTTP_COOKIE, "k=v");
    assert.equal(e.REMOTE_ADDR, "127.0.0.1");
    assert.equal(e.SERVER_PROTOCOL, "HTTP/1.1");
    assert.deepEqual(e["tsgi.version"], [1, 0]);
    assert.equal(e["tsgi.url_scheme"], "http");
    assert.equal(e["tsgi.input"], "object");
    assert.equal(e["tsgi.multithread"], false);
  });

  test("a Content-Length over maxBody is 413 before the app runs; one log line; still serving", async () => {
    const { url, lines } = await serve(hono, { maxBody: 10 });
    const before = calls;
    const r = await fetchRaw(url, "/echo", { method: "POST", body: "x".repeat(11) });
    assert.equal(r.status, 413);
    assert.equal(r.body.toString(), "request body exceeds the limit of 10 bytes\n");
    assert.equal(calls, before, "the app did not run");
    assert.equal(lines.length, 1);
    assert.match(lines[0], /POST \/echo: Content-Length 11 exceeds the limit of 10 bytes; answered 413/);
    assert.equal((await fetchRaw(url, "/echo", { method: "POST", body: "x".repeat(10) })).body.toString(), "x".repeat(10));
  });

  test("chunked bodies take the core's path: over maxBody 413, within it served", async () => {
    const { url, lines } = await serve(hono, { maxBody: 10 });
    const big = await fetchRaw(url, "/echo", { method: "POST", body: "x".repeat(11), headers: { "Transfer-Encoding": "chunked" } });
    assert.equal(big.status, 413);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /answered 413/);
    const ok = await fetchRaw(url, "/echo", { method: "POST", body: "12345", headers: { "Transfer-Encoding": "chunked" } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.toString(), "12345");
  });

  test("HEAD: the GET's headers, no body", async () => {
    const { url } = await serve(hono);
    const r = await raw(url, "HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.match(r, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(r, /\r\ncontent-type: text\/plain/i);
    assert.ok(r.endsWith("\r\n\r\n"), JSON.stringify(r));
  });

  test("HTTP/1.0 without Host goes through the core: URL from the listener", async () => {
    const { url } = await serve(hono);
    const r = await raw(url, "GET /env/x HTTP/1.0\r\n\r\n");
    assert.match(r, /^HTTP\/1\.1 200 OK\r\n/);
    const e = JSON.parse(r.slice(r.indexOf("\r\n\r\n") + 4));
    assert.equal(e.lightweight, false);
    assert.equal(e.SERVER_PROTOCOL, "HTTP/1.0");
    assert.equal(e.SERVER_NAME, "127.0.0.1");
  });

  test("a Host that makes no URL: 400, one log line naming it, still serving", async () => {
    const { url, lines } = await serve(hono);
    const r = await raw(url, "GET /hello HTTP/1.1\r\nHost: exa mple\r\nConnection: close\r\n\r\n");
    assert.match(r, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.ok(r.endsWith("\r\n\r\ninvalid Host header or request target\n"), JSON.stringify(r));
    assert.equal(lines.length, 1);
    assert.match(lines[0], /^GET \/hello: .*Host "exa mple".*answered 400$/);
    assert.equal((await fetchRaw(url, "/hello")).body.toString(), "Hello, World!");
  });

  test("Expect: 100-continue takes the core's path: 100 when the app reads, then the answer", async () => {
    const { url } = await serve(hono);
    const u = new URL(url);
    const got = await new Promise<string>((resolve, reject) => {
      const s = connect(Number(u.port), u.hostname);
      let text = "";
      s.on("data", (d) => {
        text += d.toString("latin1");
        if (text === "HTTP/1.1 100 Continue\r\n\r\n") s.write("abc");
      });
      s.on("close", () => resolve(text));
      s.on("error", reject);
      s.write("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
    });
    assert.match(got, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    assert.ok(got.endsWith("\r\n\r\nabc"), JSON.stringify(got));
  });

  test("app failures: a throw, a rejection, a non-Response are a 500 and one log line each", async () => {
    const bad: Record<string, () => unknown> = {
      "/throw": () => {
        throw new Error("boom");
      },
      "/reject": () => Promise.reject(new Error("later boom")),
      "/string": () => "not a response",
    };
    const { url, lines } = await serve(((req: Request) => bad[new URL(req.url).pathname]()) as App);
    for (const path of Object.keys(bad)) {
      const r = await fetchRaw(url, path);
      assert.equal(r.status, 500, path);
      assert.equal(r.body.toString(), "Internal Server Error\n");
    }
    assert.equal(lines.length, 3);
    assert.match(lines[0], /^GET \/throw: app failed; answered 500: Error: boom/);
    assert.match(lines[1], /^GET \/reject: app failed; answered 500: Error: later boom/);
    assert.match(lines[2], /^GET \/string: app failed; answered 500: TypeError: \[fetch-response\] a fetch handler must return a Response, got string/);
  });

  test("a body stream that fails: before its first chunk a 500, later a cut; one log line each", async () => {
    const enc = new TextEncoder();
    const { url, lines } = await serve(((req: Request) => {
      const early = new URL(req.url).pathname === "/early";
      let n = 0;
      return new Response(new ReadableStream<Uint8Array>({
        pull(c) {
          if (early || n++ === 2) c.error(new Error(early ? "no data" : "gone midway"));
          else c.enqueue(enc.encode("chunk\n"));
        },
      }));
    }) as App);
    const e = await fetchRaw(url, "/early");
    assert.equal(e.status, 500);
    assert.equal(e.body.toString(), "Internal Server Error\n");
    const late = await raw(url, "GET /late HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.match(late, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\n6\r\nchunk\n\r\n6\r\nchunk\n\r\n$/, "two chunks, then cut without the last chunk");
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^GET \/early: app failed; answered 500: Error: no data/);
    assert.match(lines[1], /^GET \/late: app failed after the response started; connection aborted: Error: gone midway/);
  });

  test("a stream whose first chunk is not there yet (SSE) sends its headers at once", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const sse = new Hono();
    sse.get("/events", (c) => streamSSE(c, async (s) => {
      await gate;
      await s.writeSSE({ data: "first" });
    }));
    const { url } = await serve(sse);
    const res = await open(url, "/events").response; // before any event: the gate is still shut
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers["content-type"]), /^text\/event-stream/);
    release();
    let text = "";
    for await (const chunk of res) text += chunk;
    assert.equal(text, "data: first\n\n");
  });

  test("hop-by-hop response headers are dropped (object, pairs and Headers inits)", async () => {
    const inits: Record<string, HeadersInit> = {
      "/object": { upgrade: "websocket", "x-a": "1" },
      "/pairs": [["TE", "trailers"], ["x-a", "1"]],
      "/headers": new Headers([["proxy-connection", "x"], ["x-a", "1"], ["set-cookie", "a=1"], ["set-cookie", "b=2"]]),
    };
    const { url } = await serve(((req: Request) => new Response("ok", { headers: inits[new URL(req.url).pathname] })) as App);
    for (const path of Object.keys(inits)) {
      const r = await fetchRaw(url, path);
      const names = r.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
      assert.equal(r.headers["x-a"], "1", path);
      for (const hop of ["upgrade", "te", "proxy-connection"]) assert.ok(!names.includes(hop), `${path}: ${hop} sent`);
      if (path === "/headers") assert.deepEqual(r.headers["set-cookie"], ["a=1", "b=2"]);
    }
  });

  test("streamText: a client that does not read holds the app back; a disconnect aborts the signal", async () => {
    const { url } = await serve(hono);
    const res = await open(url, "/firehose").response;
    res.pause();
    await sleep(500);
    const held = written;
    assert.ok(held < 200, `the app wrote ${held} chunks of 64 KiB to a client that reads nothing`);
    await sleep(200);
    assert.ok(written - held <= 2, "the app kept writing");
    res.destroy();
    for (let i = 0; i < 50 && !aborted; i++) await sleep(20);
    assert.equal(aborted, true, "request.signal aborted on disconnect");
  });

  test("access log: one combined line with status and body bytes", async () => {
    const log: string[] = [];
    const { url } = await serve(hono, { accessLog: (l) => log.push(l) });
    await fetchRaw(url, "/hello", { headers: { "User-Agent": "t/1" } });
    for (let i = 0; i < 50 && log.length === 0; i++) await sleep(10);
    assert.equal(log.length, 1);
    assert.match(log[0], /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/hello HTTP\/1\.1" 200 13 "-" "t\/1" [\d.]+ms$/);
  });

  test("graceful close: the request in flight finishes; new connections are refused", async () => {
    let started = false;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = new Hono();
    slow.get("/slow", async (c) => {
      started = true;
      await gate;
      return c.text("done");
    });
    const { url, listener } = await serve(slow);
    const pending = fetchRaw(url, "/slow");
    for (let i = 0; i < 500 && !started; i++) await sleep(10);
    assert.ok(started);
    const closed = listener.close(5000);
    await sleep(50);
    release();
    const r = await pending;
    assert.equal(r.body.toString(), "done");
    await closed;
    await assert.rejects(fetchRaw(url, "/slow"), /ECONNREFUSED/);
  });

  test("TLS: an https URL for Hono, tsgi.url_scheme https and HTTPS on in c.env", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "tsgi-hono-tls-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const gen = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem"), "-days", "1", "-subj", "/CN=127.0.0.1"]);
    if (gen.error) return t.skip("openssl not installed");
    const app = new Hono<TsgiEnv>();
    app.get("/", (c) => c.json({ url: c.req.url, scheme: c.env["tsgi.url_scheme"], https: c.env.HTTPS }));
    const tls = { cert: readFileSync(join(dir, "c.pem")), key: readFileSync(join(dir, "k.pem")) };
    const l = await listen(new Gateway(app), { host: "127.0.0.1", port: 0 }, { tls });
    listeners.push(l);
    assert.match(l.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const body = await new Promise<string>((resolve, reject) => {
      httpsRequest(l.url + "/", { rejectUnauthorized: false, agent: false }, (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve(text));
      }).on("error", reject).end();
    });
    const e = JSON.parse(body);
    assert.equal(e.url, l.url + "/");
    assert.equal(e.scheme, "https");
    assert.equal(e.https, "on");
  });

  test("tsgi/hono's listenNode is the same carrier", async () => {
    const l = await listenNode(new Gateway(hono), { host: "127.0.0.1", port: 0 });
    listeners.push(l);
    const e = JSON.parse((await fetchRaw(l.url, "/env/x")).body.toString());
    assert.equal(e.lightweight, true);
    assert.equal(e.PATH_INFO, "/env/x");
  });

  test("other app kinds are served by adapters/node as before", async () => {
    const sync = (_e: Environ, start: (s: string, h: [string, string][]) => unknown) => {
      start("200 OK", [["Content-Type", "text/plain"]]);
      return ["sync"];
    };
    const { url } = await serve(sync as App);
    assert.equal((await fetchRaw(url, "/")).body.toString(), "sync");
  });
});
