import { test } from "node:test";
import assert from "node:assert/strict";
import { lint, checkEnviron, checkScope, compose } from "../../src/middleware/index.ts";
import { asyncApp, SpecError, type AsyncApp, type Environ, type HttpScope, type SendEvent, type StartResponse, type Header } from "../../src/index.ts";
import { expectOk, expectRule, run, syncReply } from "./helpers.ts";

const H: Header[] = [["Content-Type", "text/plain"]];
const throwsRule = (fn: () => unknown, rule: string) =>
  assert.throws(fn, (err: unknown) => err instanceof SpecError && err.rule === rule, `expected SpecError ${rule}`);

async function goodEnviron(): Promise<Environ> {
  let env: Environ | null = null;
  await run(lint((e: Environ, start: StartResponse) => {
    env = e;
    start("200 OK", H);
    return [];
  }), "/a/b?x=1", { method: "POST", body: "hi", headers: { Cookie: "a=1" } });
  return env!;
}

test("lint passes a good app on the core (sync, async, fetch) and through compose", async () => {
  await expectOk(lint(syncReply("200 OK", H, ["ok"])));
  await expectOk(lint(asyncApp(async (scope, _r, send) => {
    if (scope.type !== "http") throw new Error("no");
    await send({ type: "http.response.start", status: 200, headers: [] });
    await send({ type: "http.response.body", body: "ok" });
  }) as AsyncApp));
  await expectOk(lint(async (_req: Request) => new Response("ok")));
  await expectOk(lint(compose(syncReply("200 OK", H, ["ok"]))));
  await expectOk(compose(lint(syncReply("200 OK", H, ["ok"]))));
});

test("lint, server side: each environ rule has a passing and a failing case", async () => {
  const good = await goodEnviron();
  checkEnviron(good);
  const bad = (patch: Record<string, unknown>, drop: string[] = []) => {
    const e: Record<string, unknown> = { ...good, ...patch };
    for (const k of drop) delete e[k];
    return () => checkEnviron(e);
  };
  throwsRule(bad({}, ["SERVER_PROTOCOL"]), "environ-keys");
  throwsRule(bad({}, ["tsgi.errors"]), "environ-keys");
  throwsRule(bad({ REQUEST_METHOD: "GE T" }), "environ-keys");
  throwsRule(bad({ HTTP_X: "\u0100" }), "byte-string");
  throwsRule(bad({ HTTP_X: 5 }), "byte-string");
  throwsRule(bad({ "HTTP_x-y": "1" }), "header-underscore");
  throwsRule(bad({ SCRIPT_NAME: "/" }), "script-name");
  throwsRule(bad({ SCRIPT_NAME: "app" }), "script-name");
  throwsRule(bad({ PATH_INFO: "x" }), "path-info");
  throwsRule(bad({ SCRIPT_NAME: "", PATH_INFO: "" }), "root-mount");
  throwsRule(bad({ SERVER_NAME: "" }), "server-name");
  throwsRule(bad({ SERVER_PORT: "http" }), "server-name");
  throwsRule(bad({ CONTENT_TYPE: "" }), "content-empty");
  throwsRule(bad({ HTTP_CONTENT_LENGTH: "2" }), "content-dup");
  throwsRule(bad({ CONTENT_LENGTH: "x" }), "request-content-length");
  throwsRule(bad({ HTTP_PROXY: "http://evil" }), "httpoxy");
  throwsRule(bad({ "tsgi.version": [1, 1] }), "tsgi-keys");
  throwsRule(bad({ "tsgi.multithread": "no" }), "tsgi-keys");
  throwsRule(bad({ "tsgi.url_scheme": "https" }), "url-scheme");
  throwsRule(bad({ CONTENT_LENGTH: "5" }), "input-whole");
});

test("lint, server side: the http scope (scope-keys, mount, byte-string, lifespan-state)", () => {
  const scope: HttpScope = {
    type: "http", tsgi: { version: "1.0", spec_version: "1.0" }, http_version: "1.1", method: "GET", scheme: "http",
    path: "/app/x", raw_path: "/app/x", query_string: "", root_path: "/app", headers: [["host", "h"]],
    client: ["127.0.0.1", 1], server: ["h", 80], extensions: { environ: {} },
  };
  checkScope(scope);
  throwsRule(() => checkScope({ ...scope, http_version: "3" }), "scope-keys");
  throwsRule(() => checkScope({ ...scope, method: 5 as unknown as string }), "scope-keys");
  throwsRule(() => checkScope({ ...scope, headers: [["a"]] as unknown as Header[] }), "scope-keys");
  throwsRule(() => checkScope({ ...scope, root_path: "/other" }), "mount");
  throwsRule(() => checkScope({ ...scope, root_path: "/app/" }), "script-name");
  throwsRule(() => checkScope({ ...scope, headers: [["x", "\u0100"]] }), "byte-string");
  throwsRule(() => checkScope({ ...scope, state: 3 as unknown as Record<string, unknown> }), "lifespan-state");
});

test("lint, server side: tsgi.input never gives more than its length (input-eof)", async () => {
  const env = await goodEnviron();
  const overlong = { ...env, "tsgi.input": { length: 1, read: () => new Uint8Array(5), readLine: () => new Uint8Array(0), seek() {} } };
  let caught: unknown = null;
  const app = lint((e: Environ, start: StartResponse) => {
    try {
      e["tsgi.input"].read();
    } catch (err) {
      caught = err;
    }
    start("200 OK", H);
    return [];
  });
  app({ ...overlong, CONTENT_LENGTH: "1" } as unknown as Environ, () => () => {});
  assert.equal((caught as SpecError).rule, "input-eof");
});

test("lint, server side: startResponse must rethrow excInfo after the headers went out (exc-info)", async () => {
  const env = await goodEnviron();
  const app = lint((_e: Environ, start: StartResponse) => (function* () {
    start("200 OK", H);
    yield "sent";
    start("500 Oops", H, new Error("late"));
  })());
  const body = app(env, () => () => {}) as Iterable<string>; // a broken server whose startResponse never throws
  const it = body[Symbol.iterator]();
  it.next();
  throwsRule(() => it.next(), "exc-info");
});

test("lint, server side: close() once, and no iteration after close (close-once)", async () => {
  const env = await goodEnviron();
  const body = lint(syncReply("200 OK", H, (function* () { yield "a"; })()))(env, () => () => {}) as Iterable<string> & { close(): void };
  body.close();
  throwsRule(() => body.close(), "close-once");
});

test("lint, app side (sync): every rule fails with its id, on the core and before it", async () => {
  const cases: [unknown, string][] = [
    [syncReply("200 OK", H, null), "body-iterable"],
    [syncReply("200 OK", H, "str"), "body-iterable"],
    [syncReply("200 OK", H, [5]), "chunk-type"],
    [syncReply(200, H), "status-type"],
    [syncReply("200", H), "status-format"],
    [syncReply("100 Continue", H), "status-final"],
    [syncReply("200 OK", {}), "headers-type"],
    [syncReply("200 OK", [["a"]]), "header-pair"],
    [syncReply("200 OK", [["a:b", "1"]]), "header-name"],
    [syncReply("200 OK", [["a", "1\r\n"]]), "header-value"],
    [syncReply("200 OK", [["Connection", "close"]]), "hop-by-hop"],
    [syncReply("200 OK", [["Status", "200"]]), "status-header"],
    [syncReply("200 OK", [["Content-Length", "x"]]), "content-length"],
    [syncReply("200 OK", [["Content-Length", "1"]], ["toolong"]), "content-length-over"],
    [syncReply("200 OK", [["Content-Length", "9"]], ["short"]), "content-length-short"],
    [syncReply("204 No Content", [], ["body"]), "no-body-status"],
    [(_e: Environ, _s: StartResponse) => ["x"], "no-start-response"],
    [(_e: Environ, s: StartResponse) => { s("200 OK", H); s("200 OK", H); return []; }, "start-response-twice"],
  ];
  for (const [app, rule] of cases) {
    const r = await expectRule(lint(app as (e: Environ, s: StartResponse) => string[]), rule);
    assert.ok(r.status === 500 || r.aborted);
  }
  // Streams are checked chunk by chunk, after the headers went out: the response aborts.
  const r = await expectRule(lint(syncReply("200 OK", [["Content-Length", "2"]], (function* () { yield "ab"; yield "c"; })())), "content-length-over");
  assert.equal(r.status, 200);
  assert.equal(r.aborted, true);
});

test("lint, app side (async): every event rule fails with its id", async () => {
  const a = (fn: (send: (e: SendEvent) => Promise<void>) => Promise<void>): AsyncApp => asyncApp(async (scope, _r, send) => {
    if (scope.type !== "http") throw new Error("no");
    await fn(send);
  });
  const start: SendEvent = { type: "http.response.start", status: 200, headers: [] };
  const cases: [AsyncApp, string][] = [
    [a((send) => send({ type: "nope" } as unknown as SendEvent)), "event-type"],
    [a(async (send) => { await send(start); await send(start); }), "start-twice"],
    [a((send) => send({ type: "http.response.body", body: "x" })), "body-before-start"],
    [a((send) => send({ type: "http.response.start", status: 99 })), "status-int"],
    [a((send) => send({ type: "http.response.start", status: 101 })), "status-final"],
    [a((send) => send({ type: "http.response.start", status: 200, trailers: true })), "trailers"],
    [a((send) => send({ type: "http.response.start", status: 200, headers: [["te", "x"]] })), "hop-by-hop"],
    [a(async (send) => { await send(start); await send({ type: "http.response.body", body: 5 as unknown as string }); }), "chunk-type"],
    [a(async () => {}), "no-response"],
    [a(async (send) => { await send(start); }), "no-body-event"],
    [a(async (send) => { await send(start); await send({ type: "http.response.body", body: "x", more_body: true }); }), "incomplete-body"],
    [a(async (send) => { await send({ type: "http.response.start", status: 304 }); await send({ type: "http.response.body", body: "x" }); }), "no-body-status"],
    [a(async (send) => { await send({ type: "http.response.start", status: 200, headers: [["content-length", "1"]] }); await send({ type: "http.response.body", body: "xx" }); }), "content-length-over"],
    [a(async (send) => { await send({ type: "http.response.start", status: 200, headers: [["content-length", "5"]] }); await send({ type: "http.response.body", body: "xx" }); }), "content-length-short"],
  ];
  for (const [app, rule] of cases) await expectRule(lint(app), rule);
  const { r, logs } = await run(lint(a(async (send) => {
    await send(start);
    await send({ type: "http.response.body", body: "done" });
    await send({ type: "http.response.body", body: "again" });
  })));
  assert.equal(r.text(), "done");
  assert.match(logs[0], /send-after-complete: app:/);
});

test("lint, async: request-events and lifespan-event", async () => {
  const bad = lint(asyncApp(async (scope, receive, send) => {
    if (scope.type !== "http") throw new Error("no");
    await receive();
    await send({ type: "http.response.start", status: 200 });
    await send({ type: "http.response.body", body: "x" });
  }) as AsyncApp);
  const scope = { type: "http", tsgi: { version: "1.0", spec_version: "1.0" }, http_version: "1.1", method: "GET", scheme: "http", path: "/", raw_path: "/", query_string: "", root_path: "", headers: [], client: null, server: null, extensions: { environ: {} } } as HttpScope;
  await assert.rejects(bad(scope, async () => ({ type: "http.request", body: "x" as unknown as Uint8Array, more_body: false }), async () => {}),
    (err: unknown) => err instanceof SpecError && err.rule === "request-events");
  const life = lint(asyncApp(async (scope, receive, send) => {
    if (scope.type !== "lifespan") return;
    await receive();
    await send({ type: "http.response.start", status: 200 });
  }) as AsyncApp);
  await assert.rejects(life({ type: "lifespan", tsgi: { version: "1.0", spec_version: "1.0" }, state: {} }, async () => ({ type: "lifespan.startup" }), async () => {}),
    (err: unknown) => err instanceof SpecError && err.rule === "lifespan-event");
});

test("lint, fetch: fetch-response", async () => {
  await expectRule(lint((async (_r: Request) => "no") as never), "fetch-response");
});
