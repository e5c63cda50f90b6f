import { test } from "node:test";
import assert from "node:assert/strict";
import { Gateway, type Environ, type StartResponse, type Header } from "../../src/index.ts";
import { MemorySink, TestClient } from "../../src/testing/index.ts";
import { expectOk, expectRule, run, syncReply, tick } from "./helpers.ts";

const H: Header[] = [["Content-Type", "text/plain"]];

test("body-iterable: arrays, generators, async iterables pass; null, string, Promise, Uint8Array fail", async () => {
  await expectOk(syncReply("200 OK", H, ["a"]));
  await expectOk(syncReply("200 OK", H, (function* () { yield "a"; })()));
  await expectOk(syncReply("200 OK", H, (async function* () { yield "a"; })()));
  for (const bad of [null, "text", Promise.resolve(["a"]), new Uint8Array([1])]) {
    await expectRule(syncReply("200 OK", H, bad), "body-iterable");
  }
});

test("chunk-type: chunks are Uint8Array or string", async () => {
  await expectOk(syncReply("200 OK", H, [new Uint8Array([104]), "i"]));
  await expectRule(syncReply("200 OK", H, [42]), "chunk-type");
});

test("no-start-response: body bytes or the end before startResponse fail; a generator may call it lazily", async () => {
  await expectRule((_e: Environ, _s: StartResponse) => ["x"], "no-start-response");
  await expectRule((_e: Environ, _s: StartResponse) => [], "no-start-response");
  const lazy = (_e: Environ, start: StartResponse) => (function* () {
    start("200 OK", H);
    yield "late start is fine";
  })();
  const r = await expectOk(lazy);
  assert.equal(r.text(), "late start is fine");
});

test("start-response-twice: a second call without excInfo fails, also after a first call that threw", async () => {
  await expectRule((_e: Environ, start: StartResponse) => {
    start("200 OK", H);
    start("201 Created", H);
    return [];
  }, "start-response-twice");
  await expectRule((_e: Environ, start: StartResponse) => {
    try {
      start("bad", H);
    } catch {
      // swallowed: the second call must still fail
    }
    start("200 OK", H);
    return [];
  }, "start-response-twice");
});

test("exc-info: before the headers went out it replaces the status; after, it rethrows and the response aborts", async () => {
  const before = (_e: Environ, start: StartResponse) => {
    start("200 OK", H);
    try {
      throw new Error("failed while rendering");
    } catch (err) {
      start("503 Service Unavailable", [["Content-Type", "text/plain"]], err);
      return ["sorry"];
    }
  };
  const r = await expectOk(before, 503);
  assert.equal(r.text(), "sorry");
  let rethrown: unknown = null;
  const after = (_e: Environ, start: StartResponse) => (function* () {
    start("200 OK", H);
    yield "partial";
    const err = new Error("too late");
    try {
      start("500 Internal Server Error", H, err);
    } catch (e) {
      rethrown = e;
      throw e;
    }
  })();
  const { r: r2, logs } = await run(after);
  assert.equal(r2.status, 200);
  assert.equal(r2.aborted, true);
  assert.equal((rethrown as Error).message, "too late");
  assert.match(logs[0], /too late/);
});

test("headers-lazy: headers wait for the first non-empty chunk, so an error after empty chunks is a clean 500", async () => {
  const app = (_e: Environ, start: StartResponse) => (function* () {
    start("200 OK", H);
    yield "";
    yield new Uint8Array(0);
    throw new Error("boom");
  })();
  const { r } = await run(app);
  assert.equal(r.status, 500);
  assert.equal(r.text(), "Internal Server Error\n");
  const sink = new MemorySink();
  await new Gateway(syncReply("200 OK", H, (function* () { yield ""; yield "x"; })()), { log: () => {} })
    .handleHttp({ method: "GET", target: "/", rawHeaders: [], httpVersion: "1.1", scheme: "http", serverName: "h", serverPort: "80" }, null, sink);
  assert.deepEqual(sink.calls, ["start", "write", "end"]);
});

function closeCounting(body: Iterable<string>) {
  const counter = { closes: 0, returned: 0 };
  const it = body[Symbol.iterator]();
  const wrapped = {
    [Symbol.iterator]: () => ({
      next: () => it.next(),
      return: () => {
        counter.returned++;
        return it.return?.() ?? { done: true as const, value: undefined };
      },
    }),
    close: () => void counter.closes++,
  };
  return { wrapped, counter };
}

test("close-once: close() exactly once after success, error and disconnect; iterator-return on early stop", async () => {
  const ok = closeCounting(["a", "b"]);
  await run(syncReply("200 OK", H, ok.wrapped));
  assert.deepEqual(ok.counter, { closes: 1, returned: 0 });
  const err = closeCounting((function* () { yield "a"; throw new Error("x"); })());
  await run(syncReply("200 OK", H, err.wrapped));
  assert.equal(err.counter.closes, 1);
  const gone = closeCounting((function* () { for (;;) yield "a"; })());
  const { r } = await run(syncReply("200 OK", H, gone.wrapped), "/", { disconnectAfter: 2 });
  assert.equal(r.aborted, true);
  assert.deepEqual(gone.counter, { closes: 1, returned: 1 });
  const throwing = { [Symbol.iterator]: () => ["a"][Symbol.iterator](), close: () => { throw new Error("close failed"); } };
  const { r: r2, logs } = await run(syncReply("200 OK", H, throwing));
  assert.equal(r2.text(), "a");
  assert.match(logs[0], /close\(\) raised/);
});

test("status-type / status-format / status-final", async () => {
  await expectOk(syncReply("204 ", []), 204);
  await expectRule(syncReply(200, H), "status-type");
  for (const s of ["200", "20X OK", "200OK", "099 Low", "600 High", "200 Bad\r\nX: y"]) await expectRule(syncReply(s, H), "status-format");
  await expectRule(syncReply("100 Continue", H), "status-final");
  await expectRule(syncReply("101 Switching Protocols", H), "status-final");
});

test("headers-type / header-pair / header-name / header-value / hop-by-hop / status-header", async () => {
  await expectOk(syncReply("200 OK", [["X-Empty", ""], ["X-Tab", "a\tb"], ["X-Latin", "caf\u00e9"]]));
  await expectRule(syncReply("200 OK", { "Content-Type": "text/plain" }), "headers-type");
  await expectRule(syncReply("200 OK", [["Content-Type"]]), "header-pair");
  await expectRule(syncReply("200 OK", [["X", 1]]), "header-pair");
  for (const name of ["Foo:", "Bad Name", "", "X\nY", "caf\u00e9"]) await expectRule(syncReply("200 OK", [[name, "v"]]), "header-name");
  for (const value of ["a\r\nSet-Cookie: x=1", "a\nb", "a\0b", "\u0100"]) await expectRule(syncReply("200 OK", [["X", value]]), "header-value");
  for (const name of ["Connection", "Transfer-Encoding", "keep-alive", "Upgrade", "TE", "Trailer", "Proxy-Connection"]) {
    await expectRule(syncReply("200 OK", [[name, "x"]]), "hop-by-hop");
  }
  await expectRule(syncReply("200 OK", [["Status", "404"]]), "status-header");
});

test("content-length: a non-negative integer, not repeated with another value", async () => {
  await expectOk(syncReply("200 OK", [["Content-Length", " 2 "], ["content-length", "2"]], ["ok"]));
  await expectRule(syncReply("200 OK", [["Content-Length", "abc"]]), "content-length");
  await expectRule(syncReply("200 OK", [["Content-Length", "-1"]]), "content-length");
  await expectRule(syncReply("200 OK", [["Content-Length", "2"], ["Content-Length", "3"]]), "content-length");
});

test("content-length-auto: arrays and empty bodies get one; streams, HEAD and 204/304 do not", async () => {
  assert.equal((await expectOk(syncReply("200 OK", H, ["ab", "c"]))).header("content-length"), "3");
  assert.equal((await expectOk(syncReply("200 OK", H, []))).header("content-length"), "0");
  assert.equal((await expectOk(syncReply("200 OK", H, (function* () { yield "abc"; })()))).header("content-length"), undefined);
  assert.equal((await expectOk(syncReply("200 OK", H, ["abc"]), 200, { method: "HEAD" })).header("content-length"), undefined);
  assert.equal((await expectOk(syncReply("204 No Content", [], []), 204)).header("content-length"), undefined);
  assert.equal((await expectOk(syncReply("304 Not Modified", [], []), 304)).header("content-length"), undefined);
});

test("content-length-over: the excess is dropped and logged once; content-length-short: logged and aborted", async () => {
  const { r, logs } = await run(syncReply("200 OK", [["Content-Length", "3"]], (function* () { yield "abcdef"; yield "gh"; })()));
  assert.equal(r.text(), "abc");
  assert.equal(r.aborted, false);
  assert.equal(logs.length, 1);
  assert.match(logs[0], /more than its Content-Length/);
  const short = await run(syncReply("200 OK", [["Content-Length", "10"]], (function* () { yield "abc"; })()));
  assert.equal(short.r.aborted, true);
  assert.match(short.logs[0], /3 of its declared Content-Length 10/);
  await expectOk(syncReply("200 OK", [["Content-Length", "3"]], (function* () { yield "abc"; })()));
});

test("head-no-body: HEAD gets the app's status and headers (its Content-Length too) and no body", async () => {
  const r = await expectOk(syncReply("200 OK", [["Content-Length", "5"]], ["hello"]), 200, { method: "HEAD" });
  assert.equal(r.body.length, 0);
  assert.equal(r.header("content-length"), "5");
  const g = await expectOk(syncReply("200 OK", H, ["hello"]));
  assert.equal(g.text(), "hello");
});

test("no-body-status: a 204 or 304 body is not sent", async () => {
  const r = await expectOk(syncReply("204 No Content", [], ["ignored"]), 204);
  assert.equal(r.body.length, 0);
  const m = await expectOk(syncReply("304 Not Modified", [], (function* () { yield "x"; })()), 304);
  assert.equal(m.body.length, 0);
});

test("app-error: a throw is a 500 that reveals nothing, one log line; the gateway keeps serving", async () => {
  let n = 0;
  const app = (_e: Environ, start: StartResponse) => {
    if (n++ === 0) throw new Error("secret detail");
    start("200 OK", H);
    return ["fine"];
  };
  const client = new TestClient(app);
  const r = await client.get("/");
  assert.equal(r.status, 500);
  assert.equal(r.text(), "Internal Server Error\n");
  assert.equal(client.logs.length, 1);
  assert.match(client.logs[0], /^GET \/: app failed; answered 500: Error: secret detail/);
  assert.equal((await client.get("/")).text(), "fine");
  const head = await new TestClient((_e: Environ, _s: StartResponse) => { throw new Error("x"); }).head("/");
  assert.equal(head.status, 500);
  assert.equal(head.body.length, 0);
});

test("request-content-length: not 1-15 digits gets 400 and the app is not called", async () => {
  let called = 0;
  const app = (_e: Environ, start: StartResponse) => {
    called++;
    start("200 OK", H);
    return [];
  };
  for (const cl of ["abc", "-1", "1234567890123456", "1,2"]) {
    const { r, logs } = await run(app, "/", { method: "POST", headers: { "Content-Length": cl }, body: "x", contentLength: false });
    assert.equal(r.status, 400, cl);
    assert.match(logs[0], /Content-Length/);
  }
  assert.equal(called, 0);
  await expectOk(app, 200, { method: "POST", body: "x" });
});

test("body-limit: an announced body over maxBody is refused before a byte is read; a chunked one once it passes", async () => {
  let pulled = 0;
  const body = (async function* () { pulled++; yield new Uint8Array(100); })();
  const { r, logs } = await run(syncReply("200 OK", H), "/", { method: "POST", headers: { "Content-Length": "100" }, body, contentLength: false }, { maxBody: 10 });
  assert.equal(r.status, 413);
  assert.equal(pulled, 0);
  assert.match(logs[0], /exceeds the limit of 10 bytes/);
  const chunked = (async function* () { for (let i = 0; i < 5; i++) yield new Uint8Array(4); })();
  const c = await run(syncReply("200 OK", H), "/", { method: "POST", body: chunked }, { maxBody: 10 });
  assert.equal(c.r.status, 413);
  const fits = await run(syncReply("200 OK", H), "/", { method: "POST", body: new Uint8Array(10) }, { maxBody: 10 });
  assert.equal(fits.r.status, 200);
});

test("body-short: a body that ends before its announced length gets 400", async () => {
  const { r, logs } = await run(syncReply("200 OK", H), "/", { method: "POST", headers: { "Content-Length": "10" }, body: [new Uint8Array(3)], contentLength: false });
  assert.equal(r.status, 400);
  assert.match(logs[0], /3 of 10/);
});

test("input-whole / body-cap / input-eof: chunked bodies get CONTENT_LENGTH; never more than announced; empty at the end", async () => {
  const seen: unknown[] = [];
  const app = (env: Environ, start: StartResponse) => {
    const input = env["tsgi.input"];
    seen.push(env.CONTENT_LENGTH, input.length, new TextDecoder().decode(input.read()), input.read().length, input.readLine().length, input.read(0).length);
    start("200 OK", H);
    return [];
  };
  const enc = new TextEncoder();
  await run(app, "/", { method: "POST", body: [enc.encode("ab"), enc.encode("cd")] });
  assert.deepEqual(seen.splice(0), ["4", 4, "abcd", 0, 0, 0]);
  await run(app, "/", { method: "POST", headers: { "Content-Length": "3" }, body: [enc.encode("abcdef")], contentLength: false });
  assert.deepEqual(seen.splice(0), ["3", 3, "abc", 0, 0, 0]);
  await run(app, "/");
  assert.deepEqual(seen.splice(0), [undefined, 0, "", 0, 0, 0]);
});

test("write(): sends headers first, then its data before the iterable's; stored write after the end is dropped", async () => {
  let saved: ((c: string) => void) | null = null;
  const app = (_e: Environ, start: StartResponse) => {
    const write = start("200 OK", H);
    write("one ");
    saved = write;
    return ["two"];
  };
  const { r } = await run(app);
  assert.equal(r.text(), "one two");
  saved!("late");
  await tick();
});
