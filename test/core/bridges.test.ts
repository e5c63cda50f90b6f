import { test } from "node:test";
import assert from "node:assert/strict";
import { syncToAsync, toFetch, fromFetch } from "../../src/bridges/index.ts";
import { TestClient, request } from "../../src/testing/index.ts";
import type { AsyncApp, Environ, StartResponse } from "../../src/index.ts";
import { asyncApp } from "../../src/index.ts";

const enc = new TextEncoder();

test("syncToAsync: environ, body, headers on the first non-empty chunk, write(), close() once", async () => {
  let closes = 0;
  const events: string[] = [];
  const app = (env: Environ, start: StartResponse) => {
    const write = start("201 Created", [["Content-Type", "text/plain"], ["X-Path", env.PATH_INFO]]);
    write(`body=${new TextDecoder().decode(env["tsgi.input"].read())};`);
    const body = {
      *[Symbol.iterator]() {
        yield "";
        yield `q=${env.QUERY_STRING};cookie=${env.HTTP_COOKIE}`;
      },
      close() {
        closes++;
      },
    };
    return body;
  };
  const bridged = syncToAsync(app);
  // Watch the event order through an async wrapper.
  const spy: AsyncApp = asyncApp(async (scope, receive, send) => bridged(scope, receive, async (e) => {
    events.push(e.type + ("more_body" in e ? `:${e.more_body}` : ""));
    return send(e);
  }));
  const r = await request(spy, "/a%20b?x=1", { method: "POST", body: "hello", headers: [["Cookie", "a=1"], ["Cookie", "b=2"]] });
  assert.equal(r.status, 201);
  assert.equal(r.header("x-path"), "/a b");
  assert.equal(r.text(), "body=hello;q=x=1;cookie=a=1; b=2");
  assert.equal(closes, 1);
  assert.deepEqual(events, ["http.response.start", "http.response.body:true", "http.response.body:true", "http.response.body:false"]);
});

test("syncToAsync: error before output is rethrown (server answers 500), close() still once", async () => {
  let closes = 0;
  const app = (_env: Environ, start: StartResponse) => {
    start("200 OK", [["Content-Type", "text/plain"]]);
    return {
      *[Symbol.iterator]() {
        yield "";
        throw new Error("boom");
      },
      close() {
        closes++;
      },
    };
  };
  const client = new TestClient(syncToAsync(app));
  const r = await client.get("/");
  assert.equal(r.status, 500);
  assert.equal(closes, 1);
  assert.match(client.logs.join("\n"), /boom/);
});

test("syncToAsync: client leaving mid-body stops the iterator with return() and close() once", async () => {
  let closes = 0;
  let returned = false;
  let produced = 0;
  const app = (_env: Environ, start: StartResponse) => {
    start("200 OK", [["Content-Type", "text/plain"]]);
    const it = {
      next() {
        produced++;
        return { done: false, value: "x" };
      },
      return() {
        returned = true;
        return { done: true, value: undefined };
      },
      [Symbol.iterator]() {
        return it;
      },
      close() {
        closes++;
      },
    };
    return it as unknown as Iterable<string> & { close(): void };
  };
  const r = await request(syncToAsync(app), "/", { disconnectAfter: 3 });
  assert.ok(produced >= 3 && produced < 10, `produced ${produced}`);
  assert.equal(returned, true);
  assert.equal(closes, 1);
  assert.equal(r.aborted, true);
});

test("syncToAsync: lifespan scope raises (servers then run without lifespan)", async () => {
  const bridged = syncToAsync(() => []);
  await assert.rejects(bridged({ type: "lifespan", tsgi: { version: "1.0", spec_version: "1.0" } }, async () => ({ type: "lifespan.startup" }), async () => {}), /no lifespan protocol/);
});

test("toFetch: a sync app as a fetch handler, streaming the response, repeated headers kept", async () => {
  const app = (env: Environ, start: StartResponse) => {
    start("200 OK", [["Content-Type", "text/plain"], ["Set-Cookie", "a=1"], ["Set-Cookie", "b=2"]]);
    return (function* () {
      yield `${env.REQUEST_METHOD} ${env.PATH_INFO} ${env.HTTP_HOST} `;
      yield new TextDecoder().decode(env["tsgi.input"].read());
    })();
  };
  const handler = toFetch(app);
  const res = await handler(new Request("http://example.com:8080/p?q=1", { method: "PUT", body: "data" }));
  assert.equal(res.status, 200);
  assert.deepEqual(res.headers.getSetCookie(), ["a=1", "b=2"]);
  assert.equal(await res.text(), "PUT /p example.com:8080 data");
});

test("toFetch: an async app streams the request body in and the response out", async () => {
  const app: AsyncApp = asyncApp(async (scope, receive, send) => {
    if (scope.type !== "http") throw new Error("no lifespan");
    await send({ type: "http.response.start", status: 200, headers: [["content-type", "text/plain"]] });
    for (;;) {
      const e = await receive();
      if (e.type !== "http.request") break;
      if (e.body.length) await send({ type: "http.response.body", body: e.body, more_body: true });
      if (!e.more_body) break;
    }
    await send({ type: "http.response.body", more_body: false });
  });
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(enc.encode("ab"));
      c.enqueue(enc.encode("cd"));
      c.close();
    },
  });
  const res = await toFetch(app)(new Request("http://h/echo", { method: "POST", body: stream, duplex: "half" } as RequestInit));
  assert.equal(await res.text(), "abcd");
});

test("toFetch: the reader cancelling the body stops a sync app's iterator (close() once)", async () => {
  let closes = 0;
  let produced = 0;
  const app = (_env: Environ, start: StartResponse) => {
    start("200 OK", [["Content-Type", "text/plain"]]);
    const gen = (function* () {
      for (;;) {
        produced++;
        yield "chunk";
      }
    })();
    return Object.assign(gen, { close: () => void closes++ });
  };
  const res = await toFetch(app)(new Request("http://h/"));
  const reader = res.body!.getReader();
  await reader.read();
  await reader.read();
  await reader.cancel();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(closes, 1);
  assert.ok(produced < 10, `produced ${produced}`);
});

test("toFetch: HEAD and 204 give a null body; errors become a 500", async () => {
  const ok = toFetch((_e: Environ, start: StartResponse) => {
    start("204 No Content", []);
    return [];
  });
  const r = await ok(new Request("http://h/"));
  assert.equal(r.status, 204);
  assert.equal(r.body, null);
  const bad = toFetch((_e: Environ, _s: StartResponse) => {
    throw new Error("nope");
  }, { log: () => {} });
  assert.equal((await bad(new Request("http://h/"))).status, 500);
});

test("fromFetch: a fetch handler as an async app; a one-chunk body gets Content-Length", async () => {
  const app = fromFetch(async (req: Request) => {
    const body = await req.text();
    return new Response(`${req.method} ${new URL(req.url).pathname} ${req.headers.get("x-a")} ${body}`, { headers: { "x-b": "2" } });
  });
  const r = await request(app, "/f", { method: "POST", body: "zz", headers: { "X-A": "1" } });
  assert.equal(r.status, 200);
  assert.equal(r.text(), "POST /f 1 zz");
  assert.equal(r.header("content-length"), String(r.body.length));
  assert.equal(r.header("x-b"), "2");
});

test("fromFetch: an object with fetch (Hono-style), streaming body, Set-Cookie apart", async () => {
  const obj = {
    fetch(_req: Request) {
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(enc.encode("1"));
          c.enqueue(enc.encode("2"));
          c.close();
        },
      });
      const h = new Headers();
      h.append("set-cookie", "a=1");
      h.append("set-cookie", "b=2");
      return new Response(body, { status: 202, headers: h });
    },
  };
  const r = await request(fromFetch(obj), "/");
  assert.equal(r.status, 202);
  assert.equal(r.text(), "12");
  assert.deepEqual(r.headerAll("set-cookie"), ["a=1", "b=2"]);
  assert.equal(r.header("content-length"), undefined);
});

test("fromFetch: a handler that does not return a Response fails with a 500", async () => {
  const client = new TestClient(fromFetch((() => "nope") as unknown as (r: Request) => Response));
  const r = await client.get("/");
  assert.equal(r.status, 500);
  assert.match(client.logs[0], /must return a Response/);
});

test("a Hono app: served directly, through fromFetch, and mounted with urlMap (path relative to the mount)", async () => {
  const { Hono } = await import("hono");
  const hono = new Hono();
  hono.get("/hello/:name", (c) => c.text(`hi ${c.req.param("name")}`));
  hono.post("/echo", async (c) => c.json({ got: await c.req.text() }));
  const { urlMap } = await import("../../src/middleware/index.ts");
  assert.equal((await request(hono, "/hello/ann")).text(), "hi ann");
  assert.equal((await request(fromFetch(hono), "/hello/bob")).text(), "hi bob");
  const mounted = urlMap({ "/api": hono });
  assert.equal((await request(mounted, "/api/hello/cy")).text(), "hi cy");
  assert.deepEqual((await request(mounted, "/api/echo", { method: "POST", body: "x" })).json(), { got: "x" });
  assert.equal((await request(mounted, "/hello/cy")).status, 404);
});
