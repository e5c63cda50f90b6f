import { test } from "node:test";
import assert from "node:assert/strict";
import { asyncApp, ClientDisconnected, Lifespan, LifespanError, type AsyncApp, type ReceiveEvent, type SendEvent, type Scope } from "../../src/index.ts";
import { TestClient } from "../../src/testing/index.ts";
import { expectOk, expectRule, run, tick } from "./helpers.ts";

const app = (fn: (send: (e: SendEvent) => Promise<void>, receive: () => Promise<ReceiveEvent>, scope: Scope) => Promise<void>): AsyncApp =>
  asyncApp(async (scope, receive, send) => {
    if (scope.type !== "http") throw new Error("no lifespan");
    await fn(send, receive, scope);
  });
const start: SendEvent = { type: "http.response.start", status: 200, headers: [["content-type", "text/plain"]] };

test("a complete response: start then one final body event gets Content-Length; several stream", async () => {
  const one = await expectOk(app(async (send) => {
    await send(start);
    await send({ type: "http.response.body", body: "hello" });
  }));
  assert.equal(one.text(), "hello");
  assert.equal(one.header("content-length"), "5");
  const many = await expectOk(app(async (send) => {
    await send(start);
    await send({ type: "http.response.body", body: "a", more_body: true });
    await send({ type: "http.response.body", body: new Uint8Array([98]) });
  }));
  assert.equal(many.text(), "ab");
  assert.equal(many.header("content-length"), undefined);
});

test("event-type: events must be objects with a known type", async () => {
  await expectRule(app(async (send) => send("nope" as unknown as SendEvent)), "event-type");
  await expectRule(app(async (send) => send({ type: "http.response.push" } as unknown as SendEvent)), "event-type");
});

test("start-twice / body-before-start / send-after-complete", async () => {
  await expectRule(app(async (send) => {
    await send(start);
    await send(start);
  }), "start-twice");
  await expectRule(app(async (send) => send({ type: "http.response.body", body: "x" })), "body-before-start");
  const { r, logs } = await run(app(async (send) => {
    await send(start);
    await send({ type: "http.response.body", body: "done" });
    await send({ type: "http.response.body", body: "more" });
  }));
  assert.equal(r.text(), "done");
  assert.equal(r.aborted, false);
  assert.match(logs[0], /after its response was complete.*send-after-complete/s);
});

test("status-int / status-final / header rules on http.response.start", async () => {
  await expectRule(app(async (send) => send({ type: "http.response.start", status: "200" as unknown as number })), "status-int");
  await expectRule(app(async (send) => send({ type: "http.response.start", status: 600 })), "status-int");
  await expectRule(app(async (send) => send({ type: "http.response.start", status: 103 })), "status-final");
  await expectRule(app(async (send) => send({ type: "http.response.start", status: 200, headers: [["transfer-encoding", "chunked"]] })), "hop-by-hop");
  await expectRule(app(async (send) => send({ type: "http.response.start", status: 200, headers: [["x", "a\nb"]] })), "header-value");
});

test("no-response / no-body-event / incomplete-body", async () => {
  await expectRule(app(async () => {}), "no-response");
  await expectRule(app(async (send) => send(start)), "no-body-event");
  const r = await expectRule(app(async (send) => {
    await send(start);
    await send({ type: "http.response.body", body: "x", more_body: true });
  }), "incomplete-body");
  assert.equal(r.aborted, true);
});

test("request-events: body pieces in order, the last with more_body false, then http.disconnect after the response", async () => {
  const events: string[] = [];
  const echo = app(async (send, receive) => {
    for (;;) {
      const e = await receive();
      events.push(e.type === "http.request" ? `${new TextDecoder().decode(e.body)}:${e.more_body}` : e.type);
      if (e.type !== "http.request" || !e.more_body) break;
    }
    await send(start);
    await send({ type: "http.response.body", body: "ok" });
    events.push((await receive()).type);
  });
  const enc = new TextEncoder();
  await run(echo, "/", { method: "POST", headers: { "Content-Length": "4" }, body: [enc.encode("ab"), enc.encode("cd")], contentLength: false });
  assert.deepEqual(events, ["ab:true", "cd:false", "http.disconnect"]);
  events.length = 0;
  await run(echo, "/");
  assert.deepEqual(events, [":false", "http.disconnect"]);
  events.length = 0;
  await run(echo, "/", { method: "POST", headers: { "Content-Length": "2" }, body: [enc.encode("abcdef")], contentLength: false });
  assert.deepEqual(events, ["ab:false", "http.disconnect"]); // body-cap
});

test("client-disconnected: send rejects with ClientDisconnected after the client left, and nothing is logged", async () => {
  let caught: unknown = null;
  const streamer = app(async (send) => {
    await send(start);
    try {
      for (let i = 0; i < 100; i++) await send({ type: "http.response.body", body: "x", more_body: true });
    } catch (err) {
      caught = err;
      throw err;
    }
  });
  const { r, logs } = await run(streamer, "/", { disconnectAfter: 2 });
  assert.ok(caught instanceof ClientDisconnected);
  assert.equal(r.aborted, true);
  assert.deepEqual(logs, []);
});

test("body-limit for async apps: 413 and http.disconnect when a chunked body passes maxBody", async () => {
  const seen: string[] = [];
  const reader = app(async (send, receive) => {
    for (;;) {
      const e = await receive();
      seen.push(e.type);
      if (e.type !== "http.request" || !e.more_body) break;
    }
    await send(start).catch(() => seen.push("send rejected"));
  });
  const body = (async function* () { for (let i = 0; i < 5; i++) yield new Uint8Array(4); })();
  const { r } = await run(reader, "/", { method: "POST", body }, { maxBody: 10 });
  assert.equal(r.status, 413);
  assert.equal(seen.at(-1), "send rejected");
  assert.ok(seen.includes("http.disconnect"));
});

// ----- lifespan -----------------------------------------------------------------------------

function lifespanApp(behaviour: "complete" | "failed" | "raise" | "return"): { app: AsyncApp; log: string[] } {
  const log: string[] = [];
  const app: AsyncApp = asyncApp(async (scope, receive, send) => {
    if (scope.type === "lifespan") {
      if (behaviour === "raise") throw new Error("lifespan not supported");
      if (behaviour === "return") return;
      log.push((await receive()).type);
      if (behaviour === "failed") {
        await send({ type: "lifespan.startup.failed", message: "db down" });
        return;
      }
      scope.state!.pool = { id: 1 };
      await send({ type: "lifespan.startup.complete" });
      log.push((await receive()).type);
      await send({ type: "lifespan.shutdown.complete" });
      return;
    }
    const state = scope.state!;
    log.push(`request sees ${JSON.stringify(state.pool)}`);
    state.mutated = true; // must not leak into the next request's copy
    await send({ type: "http.response.start", status: 200, headers: [] });
    await send({ type: "http.response.body", body: String(state.mutated === true && Object.keys(state).length) });
  });
  return { app, log };
}

test("lifespan complete (lifespan-startup): startup before requests, state shallow-copied per request (lifespan-state), shutdown waits", async () => {
  const { app: a, log } = lifespanApp("complete");
  const client = new TestClient(a);
  await client.startup();
  assert.deepEqual(log, ["lifespan.startup"]);
  const r1 = await client.get("/");
  const r2 = await client.get("/");
  assert.equal(r1.text(), "2");
  assert.equal(r2.text(), "2");
  await client.shutdown();
  assert.deepEqual(log, ["lifespan.startup", 'request sees {"id":1}', 'request sees {"id":1}', "lifespan.shutdown"]);
});

test("lifespan failed (lifespan-startup): startup rejects with LifespanError; startup waits for the app's answer", async () => {
  let answer: (() => void) | null = null;
  const slow: AsyncApp = asyncApp(async (scope, receive, send) => {
    if (scope.type !== "lifespan") return;
    await receive();
    await new Promise<void>((r) => (answer = r));
    await send({ type: "lifespan.startup.complete" });
  });
  let ready = false;
  const started = new Lifespan(slow).startup().then(() => void (ready = true));
  await tick(10);
  assert.equal(ready, false);
  answer!();
  await started;
  assert.equal(ready, true);
  const l = new Lifespan(lifespanApp("failed").app);
  await assert.rejects(l.startup(), (err: unknown) => err instanceof LifespanError && /db down/.test(err.message));
});

test("lifespan-unsupported: an app that raises (or returns) on the lifespan scope is served without lifespan", async () => {
  for (const b of ["raise", "return"] as const) {
    const lines: string[] = [];
    const l = new Lifespan(lifespanApp(b).app, (line) => lines.push(line));
    await l.startup();
    await l.shutdown();
    if (b === "raise") assert.match(lines[0], /does not handle the lifespan scope/);
  }
  // Sync and fetch apps have no lifespan at all.
  await new Lifespan((_r: Request) => new Response("x")).startup();
});

test("lifespan-event: only lifespan.* events on a lifespan scope", async () => {
  let rejected: unknown = null;
  const bad: AsyncApp = asyncApp(async (scope, receive, send) => {
    if (scope.type !== "lifespan") return;
    await receive();
    try {
      await send({ type: "http.response.start", status: 200 });
    } catch (err) {
      rejected = err;
    }
    await send({ type: "lifespan.startup.complete" });
  });
  await new Lifespan(bad).startup();
  assert.equal((rejected as { rule?: string }).rule, "lifespan-event");
  await tick();
});
