import { test } from "node:test";
import assert from "node:assert/strict";
import { compose, Builder, getHeader, setHeader, discardBody, type Middleware, type Res } from "../../src/middleware/index.ts";
import { TestClient, request } from "../../src/testing/index.ts";
import { appKind, asyncApp, type AsyncApp, type Environ, type StartResponse } from "../../src/index.ts";

const dec = new TextDecoder();

const syncEcho = (env: Environ, start: StartResponse) => {
  start("200 OK", [["Content-Type", "text/plain"], ["X-Method", env.REQUEST_METHOD]]);
  return [`${env.SCRIPT_NAME}|${env.PATH_INFO}|${env.QUERY_STRING}|${env.HTTP_X_TAG ?? "-"}|${dec.decode(env["tsgi.input"].read())}`];
};
const asyncEcho: AsyncApp = asyncApp(async (scope, receive, send) => {
  if (scope.type !== "http") throw new Error("no lifespan");
  let body = "";
  for (;;) {
    const e = await receive();
    if (e.type !== "http.request") break;
    body += dec.decode(e.body);
    if (!e.more_body) break;
  }
  const tag = scope.headers.find((h) => h[0] === "x-tag")?.[1] ?? "-";
  await send({ type: "http.response.start", status: 200, headers: [["content-type", "text/plain"], ["x-method", scope.method]] });
  await send({ type: "http.response.body", body: `${scope.root_path}|${scope.path.slice(scope.root_path.length)}|${scope.query_string}|${tag}|${body}` });
});
const fetchEcho = async (req: Request) => {
  const u = new URL(req.url);
  return new Response(`|${u.pathname}|${u.search.slice(1)}|${req.headers.get("x-tag") ?? "-"}|${await req.text()}`, { headers: { "x-method": req.method } });
};

function trace(name: string, log: string[]): Middleware {
  return async (req, next) => {
    log.push(`${name}>`);
    const res = await next(req);
    log.push(`<${name}`);
    return { ...res, headers: [...res.headers, ["x-trace", name]] };
  };
}

test("compose gives an async app that servers detect with no wrapper", () => {
  assert.equal(appKind(compose(syncEcho)), "async");
});

test("onion order: first added runs first on the way in, last on the way out", async () => {
  const log: string[] = [];
  const app = new Builder().use(trace("a", log)).use(trace("b", log)).run(syncEcho);
  const r = await request(app, "/x");
  assert.equal(r.status, 200);
  assert.deepEqual(log, ["a>", "b>", "<b", "<a"]);
  assert.deepEqual(r.headerAll("x-trace"), ["b", "a"]);
});

for (const [kind, app] of [["sync", syncEcho], ["async", asyncEcho], ["fetch", fetchEcho]] as const) {
  test(`${kind} app: request rewrites (method, path, headers) reach the app; body passes through`, async () => {
    const rewrite: Middleware = (req, next) => next({
      ...req,
      env: { ...req.env, REQUEST_METHOD: "PUT", PATH_INFO: "/rewritten", QUERY_STRING: "q=2" },
      headers: setHeader(req.headers, "x-tag", "set-by-mw"),
    });
    const r = await request(compose(app, rewrite), "/orig?q=1", { method: "POST", body: "payload" });
    assert.equal(r.status, 200);
    assert.equal(r.header("x-method"), "PUT");
    assert.equal(r.text(), "|/rewritten|q=2|set-by-mw|payload");
  });

  test(`${kind} app: response rewrites (status, headers, streamed body)`, async () => {
    const upper: Middleware = async (req, next) => {
      const res = await next(req);
      async function* map() {
        for await (const c of res.body) yield (typeof c === "string" ? c : dec.decode(c)).toUpperCase();
      }
      return { status: 203, headers: setHeader(res.headers, "x-extra", "1"), body: map() };
    };
    const r = await request(compose(app, upper), "/p");
    assert.equal(r.status, 203);
    assert.equal(r.header("x-extra"), "1");
    assert.equal(r.text(), "|/P||-|");
  });
}

test("short-circuit: the inner app is never called", async () => {
  let called = false;
  const deny: Middleware = () => ({ status: 403, headers: [["content-type", "text/plain"]], body: ["no"] });
  const app = compose((env: Environ, start: StartResponse) => {
    called = true;
    return syncEcho(env, start);
  }, deny);
  const r = await request(app, "/");
  assert.equal(r.status, 403);
  assert.equal(r.text(), "no");
  assert.equal(r.header("content-length"), "2");
  assert.equal(called, false);
});

test("a streamed sync body stays streamed through middleware, close() once", async () => {
  let closes = 0;
  const seen: string[] = [];
  const app = (_e: Environ, start: StartResponse) => {
    start("200 OK", [["Content-Type", "text/plain"]]);
    const g = (function* () {
      yield "a";
      seen.push("after a");
      yield "b";
    })();
    return Object.assign(g, { close: () => void closes++ });
  };
  const spy: Middleware = async (req, next) => {
    const res = await next(req);
    async function* watch() {
      for await (const c of res.body) {
        seen.push(`got ${typeof c === "string" ? c : dec.decode(c)}`);
        yield c;
      }
    }
    return { ...res, body: watch() };
  };
  const r = await request(compose(app, spy), "/");
  assert.equal(r.text(), "ab");
  assert.equal(r.header("content-length"), undefined);
  // The app runs at most one chunk ahead of the reader: it made "b" only after "a" was taken.
  assert.deepEqual(seen.filter((s) => s.startsWith("got")), ["got a", "got b"]);
  assert.ok(seen.indexOf("after a") < seen.indexOf("got b"));
  assert.equal(closes, 1);
});

test("a client that leaves mid-body stops the inner sync app (return(), close() once)", async () => {
  let closes = 0;
  let produced = 0;
  const app = (_e: Environ, start: StartResponse) => {
    start("200 OK", [["Content-Type", "text/plain"]]);
    const g = (function* () {
      for (;;) {
        produced++;
        yield "x";
      }
    })();
    return Object.assign(g, { close: () => void closes++ });
  };
  const r = await request(compose(app, async (req, next) => next(req)), "/", { disconnectAfter: 2 });
  assert.equal(r.aborted, true);
  assert.ok(produced < 10, `produced ${produced}`);
  await new Promise((res) => setTimeout(res, 10));
  assert.equal(closes, 1);
});

test("discardBody lets a dropped body's app close", async () => {
  let closes = 0;
  const app = (_e: Environ, start: StartResponse) => {
    start("200 OK", [["Content-Type", "text/plain"]]);
    return Object.assign((function* () { yield "long body"; })(), { close: () => void closes++ });
  };
  const replace: Middleware = async (req, next) => {
    const res = await next(req);
    await discardBody(res.body);
    return { status: 200, headers: [["content-type", "text/plain"]], body: ["replaced"] } satisfies Res;
  };
  const r = await request(compose(app, replace), "/");
  assert.equal(r.text(), "replaced");
  await new Promise((res) => setTimeout(res, 10));
  assert.equal(closes, 1);
});

test("an app error reaches middleware as a rejection; unhandled it is a 500", async () => {
  const boom = (_e: Environ, _s: StartResponse): string[] => {
    throw new Error("boom");
  };
  let caught = "";
  const catcher: Middleware = async (req, next) => {
    try {
      return await next(req);
    } catch (err) {
      caught = (err as Error).message;
      return { status: 502, headers: [["content-type", "text/plain"]], body: ["handled"] };
    }
  };
  const r = await request(compose(boom, catcher), "/");
  assert.equal(r.status, 502);
  assert.equal(caught, "boom");
  const client = new TestClient(compose(boom));
  assert.equal((await client.get("/")).status, 500);
  assert.match(client.logs[0], /boom/);
});

test("lifespan goes through compose to an async app, and state reaches the request", async () => {
  const app: AsyncApp = asyncApp(async (scope, receive, send) => {
    if (scope.type === "lifespan") {
      await receive();
      scope.state!.db = "ready";
      await send({ type: "lifespan.startup.complete" });
      await receive();
      await send({ type: "lifespan.shutdown.complete" });
      return;
    }
    await send({ type: "http.response.start", status: 200, headers: [] });
    await send({ type: "http.response.body", body: String(scope.state?.db) });
  });
  const seen: unknown[] = [];
  const client = new TestClient(compose(app, async (req, next) => {
    seen.push(req.state.db);
    return next(req);
  }));
  await client.startup();
  const r = await client.get("/");
  assert.equal(r.text(), "ready");
  assert.deepEqual(seen, ["ready"]);
  await client.shutdown();
});

test("nested compose reuses the inner onion (no extra conversion)", async () => {
  const log: string[] = [];
  const inner = compose(syncEcho, trace("inner", log));
  const outer = compose(inner, trace("outer", log));
  const r = await request(outer, "/n");
  assert.equal(r.text(), "|/n||-|");
  assert.deepEqual(log, ["outer>", "inner>", "<inner", "<outer"]);
  assert.equal(getHeader(r.headers, "x-trace"), "inner");
});

test("a client leaving mid-request-body: the composed app and the core log nothing", async () => {
  const { Gateway } = await import("../../src/index.ts");
  const { MemorySink } = await import("../../src/testing/index.ts");
  for (const inner of [syncEcho, asyncEcho]) {
    const logs: string[] = [];
    const sink = new MemorySink();
    const body = (async function* () {
      yield new TextEncoder().encode("part");
      sink.disconnect();
    })();
    await new Gateway(compose(inner, async (req, next) => next(req)), { log: (l) => logs.push(l) })
      .handleHttp({ method: "POST", target: "/", rawHeaders: ["Host", "h", "Content-Length", "100"], httpVersion: "1.1", scheme: "http", serverName: "h", serverPort: "80" }, body, sink);
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(logs, []);
    assert.equal(sink.status, 0);
  }
});

test("gateway variables (REMOTE_USER, DOCUMENT_ROOT) and the raw REQUEST_URI reach a sync app through compose", async () => {
  const { Gateway } = await import("../../src/index.ts");
  const { MemorySink } = await import("../../src/testing/index.ts");
  const app = (env: Environ, start: StartResponse) => {
    start("200 OK", [["Content-Type", "text/plain"]]);
    return [`${env.REMOTE_USER}|${env.DOCUMENT_ROOT}|${env.REQUEST_URI}|${env.PATH_INFO}|${env.HTTP_X_A}`];
  };
  const sink = new MemorySink();
  await new Gateway(compose(app, async (req, next) => next(req)), { log: () => {} }).handleParams({
    REQUEST_METHOD: "GET", SCRIPT_NAME: "", PATH_INFO: "/caf\u00c3\u00a9", REQUEST_URI: "/caf%C3%A9?q", QUERY_STRING: "q",
    SERVER_NAME: "h", SERVER_PORT: "80", SERVER_PROTOCOL: "HTTP/1.1", REMOTE_USER: "ann", DOCUMENT_ROOT: "/srv", HTTP_X_A: "1",
  }, null, sink);
  assert.equal(sink.text(), "ann|/srv|/caf%C3%A9?q|/caf\u00c3\u00a9|1");
});
