/**
 * adapters/node behaviour the battery cannot see from outside: backpressure on responses,
 * request bodies streamed to async apps as they arrive, disconnects, deferred 100-continue.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { listen } from "../../adapters/node/index.ts";
import { Gateway, type AsyncApp, type Listener, type ReceiveEvent, type SyncApp } from "../../src/index.ts";
import { Connection } from "../../src/testing/index.ts";

const listeners: Listener[] = [];
after(() => Promise.all(listeners.map((l) => l.close(0))));

async function start(app: SyncApp | AsyncApp | ((r: Request) => Response), opts: { maxBody?: number } = {}): Promise<{ host: string; port: number }> {
  const l = await listen(new Gateway(app, { log: () => {}, ...opts }), { host: "127.0.0.1", port: 0 });
  listeners.push(l);
  return { host: "127.0.0.1", port: Number(l.url.split(":").pop()) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("node adapter", () => {
  test("backpressure: a client that does not read stops the app from producing", async () => {
    let produced = 0;
    const CHUNK = new Uint8Array(64 * 1024);
    const app: SyncApp = (_env, startResponse) => {
      startResponse("200 OK", [["Content-Type", "application/octet-stream"]]);
      return (function* () {
        for (let i = 0; i < 3200; i++) { // 200 MiB if nobody held it back
          produced += CHUNK.length;
          yield CHUNK;
        }
      })();
    };
    const ep = await start(app);
    const c = await Connection.open(ep);
    c.socket.pause(); // read nothing
    await c.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await sleep(1000);
    const stalled = produced;
    await sleep(500);
    assert.ok(stalled < 32 * 1024 * 1024, `the app produced ${stalled} bytes for a client that reads nothing`);
    assert.equal(produced, stalled, "production stopped while the client did not read");
    c.destroy();
  });

  test("an async app gets the request body as it arrives, and http.disconnect when the client leaves", async () => {
    let disconnected!: () => void;
    const sawDisconnect = new Promise<void>((r) => (disconnected = r));
    const app: AsyncApp = async (scope, receive, send) => {
      if (scope.type !== "http") return;
      const first = (await receive()) as ReceiveEvent & { type: "http.request" };
      await send({ type: "http.response.start", status: 200, headers: [["content-type", "text/plain"]] });
      // Answer before the rest of the body exists: the client sends it only after reading this.
      await send({ type: "http.response.body", body: `first ${first.body.length} more=${first.more_body}\n`, more_body: true });
      let total = first.body.length;
      for (;;) {
        const e = await receive();
        if (e.type === "http.disconnect") return disconnected();
        if (e.type !== "http.request") continue;
        total += e.body.length;
        if (!e.more_body) break;
      }
      await send({ type: "http.response.body", body: `total ${total}\n`, more_body: true });
      const e = await receive(); // nothing left to read: waits for the client to go
      if (e.type === "http.disconnect") disconnected();
    };
    const ep = await start(app);
    const c = await Connection.open(ep);
    await c.write("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    assert.ok(await c.waitBytes(1, 5000), "the app answered after the first chunk");
    await sleep(100);
    await c.write("6\r\n world\r\n0\r\n\r\n");
    const deadline = Date.now() + 5000;
    let text = "";
    c.socket.on("data", (d: Buffer) => (text += d.toString("latin1")));
    while (!text.includes("total 11") && Date.now() < deadline) await sleep(20);
    c.destroy();
    await sawDisconnect;
  });

  test("a fetch app's request.signal aborts when the client leaves (made before or after the disconnect)", async () => {
    let early!: Request;
    let late!: Request;
    let aborted!: () => void;
    const sawAbort = new Promise<void>((r) => (aborted = r));
    const app = (request: Request): Response => {
      const slow = new URL(request.url).pathname === "/early";
      if (slow) {
        early = request;
        request.signal.addEventListener("abort", () => aborted());
      } else late = request;
      let n = 0;
      return new Response(new ReadableStream({
        async pull(c) {
          await sleep(20);
          c.enqueue(new TextEncoder().encode(`tick ${n++}\n`));
          if (n > 500) c.close();
        },
      }));
    };
    const ep = await start(app);
    for (const path of ["/early", "/late"]) {
      const c = await Connection.open(ep);
      await c.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.ok(await c.waitBytes(1, 5000));
      c.destroy();
    }
    await sawAbort;
    assert.equal(early.signal.aborted, true);
    const deadline = Date.now() + 5000;
    while (late === undefined && Date.now() < deadline) await sleep(20);
    await sleep(200);
    assert.equal(late.signal.aborted, true, "a signal first read after the disconnect is already aborted");
  });

  test("Expect: 100-continue: no 100 for a body the server refuses up front (413)", async () => {
    const app: SyncApp = (_env, startResponse) => {
      startResponse("200 OK", []);
      return ["ok"];
    };
    const ep = await start(app, { maxBody: 100 });
    const c = await Connection.open(ep);
    await c.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
    const res = await c.readResponse();
    assert.equal(res.status, 413);
    assert.deepEqual(res.interim, [], "no interim 100 before the 413");
    c.destroy();
  });

  test("a unix socket left by a dead process is replaced; a live one is not", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { createServer } = await import("node:net");
    const dir = mkdtempSync(join(tmpdir(), "tsgi-node-sock-"));
    const path = join(dir, "s.sock");
    const gw = new Gateway(((_e, sr) => (sr("200 OK", []), ["x"])) as SyncApp, { log: () => {} });
    // A live server holds the path: refused with a clear message.
    const live = createServer();
    await new Promise<void>((r) => live.listen(path, r));
    await assert.rejects(listen(gw, { path }), /cannot listen on http:\/\/unix:.*: another server is listening on this socket/);
    await new Promise<void>((r) => live.close(() => r()));
    // A socket file nobody listens on, as a crashed server leaves it (bound, never unlinked).
    const { spawnSync } = await import("node:child_process");
    const { lstatSync } = await import("node:fs");
    spawnSync("python3", ["-c", `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(path)})`]);
    assert.ok(lstatSync(path).isSocket(), "stale socket file in place");
    const l = await listen(gw, { path });
    const c = await Connection.open({ path });
    await c.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.equal((await c.readResponse()).body.toString(), "x");
    c.destroy();
    await l.close(0);
    rmSync(dir, { recursive: true, force: true });
  });
});
