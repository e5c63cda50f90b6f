/** Request body cases: none, empty, small, binary, 5 MiB, chunked, 100-continue, tsgi.input reads. */
import { createHash } from "node:crypto";
import { header } from "./client.ts";
import { assert, expectStatus, type BatteryCase } from "./case.ts";
import { pattern } from "./app.ts";

const MiB = 1024 * 1024;

function allBytes(times: number): Buffer {
  const b = Buffer.alloc(256 * times);
  for (let i = 0; i < b.length; i++) b[i] = i & 255;
  return b;
}

function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

export const bodyCases: BatteryCase[] = [
  {
    id: "body-none",
    description: "POST with no Content-Length and no Transfer-Encoding (no body, RFC 9112 §6.3): empty input",
    async run(ctx) {
      const res = await ctx.request({ method: "POST", path: "/echo" });
      expectStatus(res, 200, "");
      assert.ok(["-", "0"].includes(header(res, "x-content-length") ?? ""), "CONTENT_LENGTH absent or 0");
    },
  },
  {
    id: "body-get-read",
    description: "reading tsgi.input on a GET returns empty at once, no hang (Plack #34)",
    async run(ctx) {
      const res = await ctx.request({ path: "/echo" });
      expectStatus(res, 200, "");
    },
  },
  {
    id: "body-empty",
    description: "an empty body with Content-Length: 0 and a Content-Type",
    async run(ctx) {
      const res = await ctx.request({ method: "POST", path: "/echo", body: "", headers: [["Content-Type", "text/plain"]] });
      expectStatus(res, 200, "");
      assert.equal(header(res, "x-content-type"), "text/plain");
    },
  },
  {
    id: "body-small-form",
    description: "a 14-byte form post, with CONTENT_LENGTH and CONTENT_TYPE (Plack #3)",
    async run(ctx) {
      const res = await ctx.request({ method: "POST", path: "/echo", body: "name=tatsuhiko", headers: [["Content-Type", "application/x-www-form-urlencoded"]] });
      expectStatus(res, 200, "name=tatsuhiko");
      assert.equal(header(res, "x-content-length"), "14");
      assert.equal(header(res, "x-content-type"), "application/x-www-form-urlencoded");
    },
  },
  {
    id: "body-binary",
    description: "a body holding all 256 byte values (x4) comes back byte for byte",
    async run(ctx) {
      const body = allBytes(4);
      const res = await ctx.request({ method: "PUT", path: "/echo", body, headers: [["Content-Type", "application/octet-stream"]] });
      expectStatus(res, 200, body);
      assert.equal(header(res, "x-content-length"), "1024");
    },
  },
  {
    id: "body-96k-pieces",
    description: "96 000 bytes read in 1000- then 64 KiB pieces, digest intact (Plack #4)",
    async run(ctx) {
      const body = Buffer.from("abcdefgh".repeat(12000));
      const res = await ctx.request({ method: "POST", path: "/digest", body, headers: [["Content-Type", "application/octet-stream"]] });
      expectStatus(res, 200);
      assert.deepEqual(JSON.parse(res.body.toString()), { length: 96000, sha256: sha256(body), contentLength: "96000" });
    },
  },
  {
    id: "body-5mib",
    description: "a 5 MiB body arrives whole (length and sha256)",
    async run(ctx) {
      const body = pattern(7, 5 * MiB);
      const res = await ctx.request({ method: "POST", path: "/digest", body, headers: [["Content-Type", "application/octet-stream"]] }, { timeoutMs: 60_000 });
      expectStatus(res, 200);
      const got = JSON.parse(res.body.toString()) as { length: number; sha256: string };
      assert.equal(got.length, 5 * MiB);
      assert.equal(got.sha256, sha256(body));
    },
  },
  {
    id: "body-chunked",
    description: "a chunked request body (odd chunk sizes) arrives whole",
    needs: ["chunkedRequest"],
    async run(ctx) {
      const chunks = ["a", "bc", "def", "x".repeat(1000), Buffer.from([0, 255, 13, 10, 48])];
      const res = await ctx.request({ method: "POST", path: "/echo", chunks, headers: [["Content-Type", "application/octet-stream"]] });
      const want = Buffer.concat(chunks.map((c) => (typeof c === "string" ? Buffer.from(c) : c)));
      expectStatus(res, 200, want);
      const cl = header(res, "x-content-length");
      assert.ok(cl === "-" || cl === String(want.length), `CONTENT_LENGTH is absent or the de-chunked length, got ${cl}`);
    },
  },
  {
    id: "body-chunked-large",
    description: "a 1 MiB chunked body in 100 pieces arrives whole",
    needs: ["chunkedRequest"],
    async run(ctx) {
      const body = pattern(3, MiB);
      const chunks: Buffer[] = [];
      for (let off = 0; off < body.length; off += 10486) chunks.push(Buffer.from(body.subarray(off, off + 10486)));
      const res = await ctx.request({ method: "POST", path: "/digest", chunks }, { timeoutMs: 30_000 });
      expectStatus(res, 200);
      const got = JSON.parse(res.body.toString()) as { length: number; sha256: string };
      assert.equal(got.length, MiB);
      assert.equal(got.sha256, sha256(body));
    },
  },
  {
    id: "body-expect-100",
    description: "Expect: 100-continue gets an interim 100 before the body is sent, then the answer",
    needs: ["continue100"],
    async run(ctx) {
      const conn = await ctx.connect();
      try {
        const full = ctx.encode({ method: "POST", path: "/echo", body: "after the hundred", headers: [["Expect", "100-continue"]] });
        const split = full.indexOf("\r\n\r\n") + 4;
        await conn.write(full.subarray(0, split));
        const interim = await conn.readInterim(5000);
        assert.equal(interim, 100, "an interim 100 Continue within 5 s");
        await conn.write(full.subarray(split));
        const res = await conn.readResponse();
        expectStatus(res, 200, "after the hundred");
      } finally {
        conn.destroy();
      }
    },
  },
  {
    id: "body-input-reads",
    description: "tsgi.input: readLine() twice, read(3), read(), read() at EOF, seek(0) then read()",
    async run(ctx) {
      const res = await ctx.request({ method: "POST", path: "/lines", body: "one\ntwo\nthree\nrest" });
      expectStatus(res, 200);
      assert.deepEqual(JSON.parse(res.body.toString()), ["one\n", "two\n", "thr", "ee\nrest", "", "one\ntwo\nthree\nrest"]);
    },
  },
  {
    id: "body-utf8-text",
    description: "a UTF-8 text body reaches the app as its bytes",
    async run(ctx) {
      const text = "Grüße 日本 🎉";
      const res = await ctx.request({ method: "POST", path: "/echo", body: text, headers: [["Content-Type", "text/plain; charset=utf-8"]] });
      expectStatus(res, 200, text);
      assert.equal(header(res, "x-content-length"), String(Buffer.byteLength(text)));
    },
  },
];
