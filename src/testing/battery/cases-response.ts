/** Response cases: statuses, headers, body shapes and framing (PEP 3333 §start_response, RFC 9112 §6). */
import { createHash } from "node:crypto";
import { header, headerAll } from "./client.ts";
import { assert, expectNoBodyFraming, expectStatus, type BatteryCase } from "./case.ts";
import { LITERALS, pattern, UNICODE_TEXT } from "./app.ts";

const MiB = 1024 * 1024;

function statusCase(code: number, reason: string, extra?: (h: (n: string) => string | undefined) => void): BatteryCase {
  return {
    id: `response-status-${code}`,
    description: `status ${code} ${reason} with its reason phrase and body`,
    async run(ctx) {
      const res = await ctx.request({ path: `/status/${code}` });
      expectStatus(res, code, `status ${code}`);
      assert.equal(res.reason, reason);
      extra?.((n) => header(res, n));
    },
  };
}

export const responseCases: BatteryCase[] = [
  statusCase(200, "OK", (h) => assert.equal(h("content-type"), "text/plain; charset=utf-8")),
  statusCase(201, "Created"),
  statusCase(302, "Found", (h) => assert.equal(h("location"), "/elsewhere")),
  statusCase(404, "Not Found"),
  statusCase(418, "I'm a Teapot"),
  statusCase(503, "Service Unavailable"),
  {
    id: "response-204",
    description: "204: no body and no Transfer-Encoding; the connection stays usable",
    async run(ctx) {
      const conn = await ctx.connect();
      try {
        await conn.write(ctx.encode({ path: "/status/204", keepAlive: ctx.capabilities.keepAlive === true }));
        const res = await conn.readResponse();
        expectStatus(res, 204);
        expectNoBodyFraming(res);
        if (ctx.capabilities.keepAlive === true) {
          await conn.write(ctx.encode({ path: "/query?after-204" }));
          expectStatus(await conn.readResponse(), 200, "after-204");
        }
      } finally {
        conn.destroy();
      }
    },
  },
  {
    id: "response-304",
    description: "304 from an app with no headers: no Content-Type, Content-Length or Transfer-Encoding (Plack #24)",
    async run(ctx) {
      const res = await ctx.request({ path: "/status/304" });
      expectStatus(res, 304);
      expectNoBodyFraming(res);
      assert.equal(header(res, "content-type"), undefined, "no Content-Type");
      const cl = header(res, "content-length");
      assert.ok(cl === undefined, `no Content-Length on a 304, got ${cl}`);
    },
  },
  {
    id: "response-head",
    description: "HEAD: the app's own Content-Length goes out, no body bytes (head-no-body)",
    needs: ["contentLength", "keepAlive"],
    async run(ctx) {
      const get = await ctx.request({ path: "/sized/1000" });
      expectStatus(get, 200, Buffer.from(pattern(0, 1000)));
      assert.equal(header(get, "content-length"), "1000");
      const conn = await ctx.connect();
      try {
        await conn.write(ctx.encode({ method: "HEAD", path: "/sized/1000", keepAlive: true }));
        const head = await conn.readResponse({ head: true });
        expectStatus(head, 200);
        assert.equal(header(head, "content-length"), "1000");
        // Body bytes sent anyway would be parsed as the next status line here.
        await conn.write(ctx.encode({ path: "/query?after-head" }));
        expectStatus(await conn.readResponse(), 200, "after-head");
      } finally {
        conn.destroy();
      }
    },
  },
  {
    id: "response-set-cookie-many",
    description: "30 Set-Cookie headers arrive as 30 separate lines, in order",
    async run(ctx) {
      const res = await ctx.request({ path: "/cookies/30" });
      expectStatus(res, 200, "cookies");
      assert.deepEqual(headerAll(res, "set-cookie"), Array.from({ length: 30 }, (_, i) => `c${i}=${i}; Path=/`));
    },
  },
  {
    id: "response-repeated-header",
    description: "a header given twice goes out twice, in order (Plack #22)",
    async run(ctx) {
      const res = await ctx.request({ path: "/multi-header" });
      expectStatus(res, 200, "ok");
      assert.match(headerAll(res, "x-foo").join(", "), /^foo,\s*bar,\s*baz$/);
    },
  },
  {
    id: "response-stream",
    description: "an async iterable body: 5 chunks 60 ms apart, all delivered in order",
    async run(ctx) {
      const res = await ctx.request({ path: "/stream/5/60" });
      expectStatus(res, 200, "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n");
    },
  },
  {
    id: "response-stream-timely",
    description: "streamed chunks reach the client as produced: the first arrives well before the last",
    needs: ["streaming"],
    async run(ctx) {
      const res = await ctx.request({ path: "/stream/4/250" });
      expectStatus(res, 200, "chunk 0\nchunk 1\nchunk 2\nchunk 3\n");
      assert.ok(res.endAt - res.firstByteAt > 400, `first byte only ${Math.round(res.endAt - res.firstByteAt)} ms before the end: the response was buffered`);
    },
  },
  {
    id: "response-empty-chunks",
    description: "empty chunks in a generator body are skipped, not sent as a terminating chunk",
    async run(ctx) {
      const res = await ctx.request({ path: "/empty-chunks" });
      expectStatus(res, 200, "ab");
      assert.ok(res.complete);
    },
  },
  {
    id: "response-unicode",
    description: "string chunks with non-ASCII text go out as UTF-8",
    async run(ctx) {
      const res = await ctx.request({ path: "/unicode" });
      expectStatus(res, 200, UNICODE_TEXT.join(""));
    },
  },
  {
    id: "response-binary",
    description: "all 256 byte values in a body arrive unchanged",
    async run(ctx) {
      const res = await ctx.request({ path: "/bytes" });
      expectStatus(res, 200, Buffer.from(pattern(0, 256)));
    },
  },
  {
    id: "response-5mib-stream",
    description: "a 5 MiB generator body (64 KiB chunks) arrives whole",
    async run(ctx) {
      const res = await ctx.request({ path: `/big/${5 * MiB}` }, { timeoutMs: 60_000 });
      expectStatus(res, 200);
      assert.ok(res.complete, "complete framing");
      assert.equal(res.body.length, 5 * MiB);
      assert.equal(createHash("sha256").update(res.body).digest("hex"), createHash("sha256").update(pattern(0, 5 * MiB)).digest("hex"));
    },
  },
  {
    id: "response-5mib-array",
    description: "a 5 MiB one-element array body goes out with its Content-Length",
    needs: ["contentLength"],
    async run(ctx) {
      const res = await ctx.request({ path: `/big-array/${5 * MiB}` }, { timeoutMs: 60_000 });
      expectStatus(res, 200);
      assert.equal(header(res, "content-length"), String(5 * MiB));
      assert.ok(res.body.equals(pattern(0, 5 * MiB)));
    },
  },
  {
    id: "response-write",
    description: "write() from startResponse, then an iterable: bytes in order (PEP 3333 write)",
    async run(ctx) {
      const res = await ctx.request({ path: "/write" });
      expectStatus(res, 200, "abcd");
    },
  },
  {
    id: "response-content-length-added",
    description: "a one-element array body gets Content-Length; \\n is not rewritten (Plack #31)",
    needs: ["contentLength"],
    async run(ctx) {
      const res = await ctx.request({ path: "/literal/newlines" });
      expectStatus(res, 200, LITERALS.newlines);
      assert.equal(header(res, "content-length"), "7");
      assert.equal(header(res, "transfer-encoding"), undefined);
    },
  },
  {
    id: "response-body-not-parsed",
    description: "a body that looks like headers is sent as body (Plack #30)",
    async run(ctx) {
      const res = await ctx.request({ path: "/literal/crlf" });
      expectStatus(res, 200, LITERALS.crlf);
      assert.equal(header(res, "foo"), undefined);
    },
  },
  {
    id: "response-content-length-overrun",
    description: "an app that sends more than its Content-Length: only the declared bytes go out, the connection stays sane",
    async run(ctx) {
      const conn = await ctx.connect();
      try {
        const ka = ctx.capabilities.keepAlive === true;
        await conn.write(ctx.encode({ path: "/cl-long", keepAlive: ka }));
        const res = await conn.readResponse();
        expectStatus(res, 200, "12345");
        if (ka) {
          await conn.write(ctx.encode({ path: "/query?next" }));
          expectStatus(await conn.readResponse(), 200, "next");
        }
      } finally {
        conn.destroy();
      }
    },
  },
];
