import { test } from "node:test";
import assert from "node:assert/strict";
import { appKind, fetchApp, syncApp } from "../../src/index.ts";
import { expectOk, expectRule, run } from "./helpers.ts";

test("fetch apps: function, object with fetch; single-chunk body gets Content-Length, streams do not", async () => {
  const r = await expectOk(async (req: Request) => new Response(`${req.method} ${new URL(req.url).pathname}`));
  assert.equal(r.text(), "GET /");
  assert.equal(r.header("content-length"), "5");
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new Uint8Array([97]));
      c.enqueue(new Uint8Array([98]));
      c.close();
    },
  });
  const s = await expectOk({ fetch: (_req: Request) => new Response(stream) });
  assert.equal(s.text(), "ab");
  assert.equal(s.header("content-length"), undefined);
});

test("fetch: request body streams in, capped at Content-Length (body-cap); environ is the second argument", async () => {
  const enc = new TextEncoder();
  const app = async (req: Request, env?: Record<string, unknown>) => new Response(`${await req.text()}|${String(env?.SCRIPT_NAME)}|${String(env?.PATH_INFO)}`);
  const { r } = await run(app, "/p", { method: "POST", headers: { "Content-Length": "3" }, body: [enc.encode("abcdef")], contentLength: false });
  assert.equal(r.text(), "abc||/p");
});

test("fetch-response: a fetch app must return a Response", async () => {
  await expectRule((async (_r: Request) => "text") as never, "fetch-response");
  await expectRule({ fetch: () => null } as never, "fetch-response");
});

test("fetch-hop-by-hop: hop-by-hop headers in a Response are dropped, not refused; Set-Cookie lines kept apart", async () => {
  const h = new Headers([["connection", "close"], ["keep-alive", "timeout=5"], ["x-ok", "1"]]);
  h.append("set-cookie", "a=1");
  h.append("set-cookie", "b=2");
  const r = await expectOk((_req: Request) => new Response("x", { headers: h }));
  assert.equal(r.header("connection"), undefined);
  assert.equal(r.header("keep-alive"), undefined);
  assert.equal(r.header("x-ok"), "1");
  assert.deepEqual(r.headerAll("set-cookie"), ["a=1", "b=2"]);
});

test("request-url: a Host that makes no URL gets 400 from the server, not a 500 from the app", async () => {
  let called = false;
  const app = (_r: Request) => {
    called = true;
    return new Response("x");
  };
  const { r, logs } = await run(app, "/", { headers: { Host: "bad host:x" } });
  assert.equal(r.status, 400);
  assert.equal(called, false);
  assert.match(logs[0], /makes no valid URL; answered 400|makes no valid URL/);
  await expectOk(app, 200, { headers: { Host: "good.example:8080" } });
});

test("body-limit: a streamed body over maxBody is answered 413 for fetch apps too, with one log line", async () => {
  const app = async (req: Request) => new Response(`got ${(await req.arrayBuffer()).byteLength}`);
  async function* chunks() {
    for (let i = 0; i < 4; i++) yield new Uint8Array(8);
  }
  const { r, logs } = await run(app, "/", { method: "POST", body: chunks() }, { maxBody: 10 });
  assert.equal(r.status, 413);
  assert.equal(logs.length, 1);
  assert.match(logs[0], /exceeds the limit of 10 bytes .*; answered 413$/);
  const ok = await run(app, "/", { method: "POST", body: chunks() }, { maxBody: 32 });
  assert.equal(ok.r.text(), "got 32");
});

test("app-kind: objects with fetch, markers, then arity and async-ness; anything else refused with advice", () => {
  assert.equal(appKind({ fetch() {} }), "fetch");
  assert.equal(appKind((_e: unknown, _s: unknown) => []), "sync");
  assert.equal(appKind((_a: unknown, _b: unknown, _c: unknown) => undefined), "async");
  assert.equal(appKind(async (_a: unknown, _b: unknown, _c: unknown) => undefined), "async");
  assert.equal(appKind((_r: unknown) => undefined), "fetch");
  assert.equal(appKind(async (_r: unknown, _e: unknown) => undefined), "fetch");
  assert.equal(appKind(syncApp((...args: never[]) => args)), "sync");
  assert.equal(appKind(fetchApp((...args: never[]) => args)), "fetch");
  assert.throws(() => appKind(() => 1), /cannot tell what kind of app/);
  assert.throws(() => appKind(async (_a: unknown, _b: unknown, _c: unknown, _d: unknown) => 1), /syncApp\(\), asyncApp\(\) or fetchApp\(\)/);
  assert.throws(() => appKind(null), /not a tsgi app/);
  assert.throws(() => appKind({}), /not a tsgi app/);
});
