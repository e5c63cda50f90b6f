/**
 * Direction (a): tsgi apps of every kind inside a Hono app, through tsgi/hono's handler.
 * In memory (Hono's app.request) and on @hono/node-server, the carrier Hono users run on Node.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { serve as honoServe } from "@hono/node-server";
import { Hono } from "hono";
import type { AddressInfo } from "node:net";
import { tsgi, mountOf } from "../../adapters/hono/index.ts";
import type { Environ, HttpScope, Receive, Send, StartResponse } from "../../src/index.ts";
import { fetchRaw } from "../runtimes/client.ts";

function syncApp(environ: Environ, startResponse: StartResponse) {
  const body = environ["tsgi.input"].read();
  startResponse("200 OK", [["Content-Type", "application/json"], ["Set-Cookie", "a=1"], ["Set-Cookie", "b=2"]]);
  return [JSON.stringify({
    kind: "sync", script: environ.SCRIPT_NAME, path: environ.PATH_INFO, query: environ.QUERY_STRING,
    remote: environ.REMOTE_ADDR ?? null, len: body.length, x: environ.HTTP_X_THING ?? null,
  })];
}

let started = 0;
async function asyncApp(scope: HttpScope | { type: "lifespan" }, receive: Receive, send: Send): Promise<void> {
  if (scope.type === "lifespan") {
    for (;;) {
      const e = await receive();
      if (e.type === "lifespan.startup") {
        started++;
        await send({ type: "lifespan.startup.complete" });
      } else if (e.type === "lifespan.shutdown") return send({ type: "lifespan.shutdown.complete" });
    }
  }
  const s = scope as HttpScope;
  let total = 0;
  for (;;) {
    const e = await receive();
    if (e.type !== "http.request") break;
    total += e.body.length;
    if (!e.more_body) break;
  }
  await send({ type: "http.response.start", status: 201, headers: [["content-type", "text/plain"]] });
  await send({ type: "http.response.body", body: new TextEncoder().encode(`async root=${s.root_path} path=${s.path} bytes=${total} started=${started}`), more_body: true });
  await send({ type: "http.response.body", body: new TextEncoder().encode(" end") });
}

const fetchApp = async (req: Request, env?: Environ) => new Response(`fetch ${new URL(req.url).pathname} script=${env?.SCRIPT_NAME}`);

function honoApp() {
  const app = new Hono();
  // A Hono middleware that reads the body before the tsgi app: the cached copy must reach it.
  app.use("/peek/*", async (c, next) => {
    if (c.req.method === "POST") await c.req.text();
    await next();
  });
  app.all("/legacy/*", tsgi(syncApp));
  app.all("/peek/*", tsgi(syncApp));
  app.all("/svc/*", tsgi(asyncApp as never));
  app.all("/f/*", tsgi(fetchApp));
  app.all("/users/:id/*", tsgi(syncApp, { mount: "/users" }));
  app.get("/", (c) => c.text("hono root"));
  return app;
}

test("mountOf: the route's static prefix", () => {
  assert.equal(mountOf("/legacy/*"), "/legacy");
  assert.equal(mountOf("/a/b/*"), "/a/b");
  assert.equal(mountOf("/*"), "");
  assert.equal(mountOf("*"), "");
  assert.equal(mountOf("/u/:id/*"), "");
});

test("sync app under /legacy/*: SCRIPT_NAME, PATH_INFO, body, Set-Cookie lines", async () => {
  const app = honoApp();
  const r = await app.request("/legacy/a%20b/c?x=1", { method: "POST", body: "hello", headers: { "x-thing": "t" } });
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { kind: "sync", script: "/legacy", path: "/a b/c", query: "x=1", remote: null, len: 5, x: "t" });
  assert.deepEqual(r.headers.getSetCookie(), ["a=1", "b=2"]);
  const bare = await app.request("/legacy");
  assert.equal((await bare.json()).path, "");
});

test("a body Hono already read still reaches the tsgi app", async () => {
  const r = await honoApp().request("/peek/x", { method: "POST", body: "seven!!" });
  assert.equal((await r.json()).len, 7);
});

test("async app: lifespan startup once, streamed request and response", async () => {
  const app = honoApp();
  const big = new Uint8Array(300_000);
  const r = await app.request("/svc/deep/er", { method: "PUT", body: big });
  assert.equal(r.status, 201);
  assert.equal(await r.text(), "async root=/svc path=/svc/deep/er bytes=300000 started=1 end");
  await app.request("/svc/again");
  assert.equal(started, 1);
});

test("fetch app and an explicit mount", async () => {
  const app = honoApp();
  assert.equal(await (await app.request("/f/z")).text(), "fetch /f/z script=/f");
  assert.equal((await (await app.request("/users/7/profile")).json()).path, "/7/profile");
});

test("HEAD through the mount: no body", async () => {
  const r = await honoApp().request("/legacy/h", { method: "HEAD" });
  assert.equal(r.status, 200);
  assert.equal(await r.text(), "");
});

test("on @hono/node-server: REMOTE_ADDR from the socket", async (t) => {
  const server = honoServe({ fetch: honoApp().fetch, port: 0, hostname: "127.0.0.1" });
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  await new Promise((r) => server.once("listening", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const r = await fetchRaw(base, "/legacy/n?q", { method: "POST", body: "abc" });
  assert.deepEqual(JSON.parse(r.body.toString()), { kind: "sync", script: "/legacy", path: "/n", query: "q", remote: "127.0.0.1", len: 3, x: null });
  assert.deepEqual(r.headers["set-cookie"], ["a=1", "b=2"]);
  const a = await fetchRaw(base, "/svc/s", { method: "POST", body: Buffer.alloc(100_000) });
  assert.match(a.body.toString(), /^async root=\/svc path=\/svc\/s bytes=100000/);
});

after(() => {});
