/** Connection cases (keep-alive, pipelining) and the close()/return contract (PEP 3333 §iterable). */
import { header } from "./client.ts";
import { assert, expectStatus, type BatteryCase } from "./case.ts";
import type { BatteryContext } from "./context.ts";

async function closeCount(ctx: BatteryContext, id: string, atLeast: number, waitMs = 3000): Promise<number> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const res = await ctx.request({ path: `/closed/${id}` });
    expectStatus(res, 200);
    const n = Number(res.body.toString());
    if (n >= atLeast || Date.now() > deadline) return n;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const connectionCases: BatteryCase[] = [
  {
    id: "keepalive-100",
    description: "100 sequential requests on one kept-alive connection, each answered right",
    needs: ["keepAlive"],
    async run(ctx) {
      const conn = await ctx.connect();
      try {
        for (let i = 0; i < 100; i++) {
          await conn.write(ctx.encode({ path: `/query?i=${i}`, keepAlive: i < 99 }));
          const res = await conn.readResponse();
          expectStatus(res, 200, `i=${i}`);
          if (i < 99) assert.notEqual(header(res, "connection")?.toLowerCase(), "close", `request ${i}: the server asked to close`);
        }
      } finally {
        conn.destroy();
      }
    },
  },
  {
    id: "keepalive-mixed",
    description: "GET, HEAD, POST, 204, 304, 404, chunked reply and an unread body on one connection: framing never slips",
    needs: ["keepAlive"],
    async run(ctx) {
      const conn = await ctx.connect();
      try {
        const steps: [Parameters<BatteryContext["encode"]>[0], number, string][] = [
          [{ path: "/query?a" }, 200, "a"],
          [{ method: "HEAD", path: "/query?b" }, 200, ""],
          [{ method: "POST", path: "/echo", body: "posted" }, 200, "posted"],
          [{ path: "/status/204" }, 204, ""],
          [{ path: "/status/304" }, 304, ""],
          [{ path: "/status/404" }, 404, "status 404"],
          [{ path: "/stream/3/0" }, 200, "chunk 0\nchunk 1\nchunk 2\n"],
          [{ method: "POST", path: "/query?unread", body: "x".repeat(70000) }, 200, "unread"],
          [{ path: "/query?z" }, 200, "z"],
        ];
        for (const [spec, status, body] of steps) {
          await conn.write(ctx.encode({ ...spec, keepAlive: true }));
          expectStatus(await conn.readResponse({ head: spec.method === "HEAD" }), status, body);
        }
      } finally {
        conn.destroy();
      }
    },
  },
  {
    id: "keepalive-pipelined",
    description: "three requests written at once are answered in order",
    needs: ["keepAlive", "pipelining"],
    async run(ctx) {
      const conn = await ctx.connect();
      try {
        await conn.write(Buffer.concat([
          ctx.encode({ path: "/query?p1", keepAlive: true }),
          ctx.encode({ method: "POST", path: "/echo", body: "p2", keepAlive: true }),
          ctx.encode({ path: "/query?p3", keepAlive: false }),
        ]));
        expectStatus(await conn.readResponse(), 200, "p1");
        expectStatus(await conn.readResponse(), 200, "p2");
        expectStatus(await conn.readResponse(), 200, "p3");
      } finally {
        conn.destroy();
      }
    },
  },
  {
    id: "connection-close",
    description: "Connection: close from the client: the server closes after the response",
    async run(ctx) {
      const conn = await ctx.connect();
      try {
        await conn.write(ctx.encode({ path: "/query?bye", keepAlive: false }));
        expectStatus(await conn.readResponse(), 200, "bye");
        assert.ok(await conn.waitClosed(5000), "closed within 5 s");
      } finally {
        conn.destroy();
      }
    },
  },
  {
    id: "close-after-success",
    description: "the body's close() runs exactly once after a complete response (Plack #17)",
    needs: ["sharedState"],
    async run(ctx) {
      const id = ctx.id();
      expectStatus(await ctx.request({ path: `/close/ok/${id}` }), 200, "part 1\npart 2\n");
      assert.equal(await closeCount(ctx, id, 1), 1);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await closeCount(ctx, id, 1, 0), 1, "close() ran once, not twice");
    },
  },
  {
    id: "close-after-error",
    description: "close() runs once when the body fails mid-way",
    needs: ["sharedState"],
    async run(ctx) {
      const id = ctx.id();
      const res = await ctx.request({ path: `/close/throw/${id}` });
      assert.equal(res.status, 200);
      assert.equal(res.complete, false);
      assert.equal(await closeCount(ctx, id, 1), 1);
    },
  },
  {
    id: "close-after-head",
    description: "close() runs for a HEAD request, whose body is never sent",
    needs: ["sharedState"],
    async run(ctx) {
      const id = ctx.id();
      expectStatus(await ctx.request({ method: "HEAD", path: `/close/ok/${id}` }), 200);
      assert.equal(await closeCount(ctx, id, 1), 1);
    },
  },
  {
    id: "close-after-disconnect",
    description: "a client that leaves mid-stream: the server stops iterating and calls close() once",
    needs: ["sharedState", "disconnect", "streaming"],
    async run(ctx) {
      const id = ctx.id();
      const conn = await ctx.connect();
      await conn.write(ctx.encode({ path: `/close/slow/${id}` }));
      assert.ok(await conn.waitBytes(1, 5000), "the stream started");
      conn.destroy();
      assert.equal(await closeCount(ctx, id, 1, 5000), 1, "close() within 5 s of the disconnect");
    },
  },
];
