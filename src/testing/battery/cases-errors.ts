/** App failure cases: what the server must do when the app throws or breaks a response rule (SPEC.md §errors). */
import { header } from "./client.ts";
import { assert, expectStatus, type BatteryCase } from "./case.ts";

function refused(id: string, what: string, description: string): BatteryCase {
  return {
    id: `error-${id}`,
    description,
    async run(ctx) {
      const res = await ctx.request({ path: `/bad/${what}` });
      expectStatus(res, 500);
      assert.ok(!res.body.toString().includes("should not be sent"), "the app's body is not sent");
      assert.equal(header(res, "x-injected"), undefined, "no injected header");
      assert.equal(header(res, "x-bad"), undefined, "the bad header is not sent");
    },
  };
}

export const errorCases: BatteryCase[] = [
  {
    id: "error-throw-before-start",
    description: "an app that throws before startResponse gets a 500; the server keeps serving (Plack #20)",
    async run(ctx) {
      const res = await ctx.request({ path: "/throw/before" });
      expectStatus(res, 500);
      assert.equal(res.reason, "Internal Server Error");
      for (let i = 0; i < 3; i++) expectStatus(await ctx.request({ path: `/query?alive-${i}` }), 200, `alive-${i}`);
    },
  },
  {
    id: "error-throw-before-first-byte",
    description: "startResponse, an empty chunk, then a throw: still a clean 500 (headers wait for the first byte)",
    async run(ctx) {
      const res = await ctx.request({ path: "/throw/after-start" });
      expectStatus(res, 500);
    },
  },
  {
    id: "error-throw-after-first-chunk",
    description: "a throw after the first chunk: status 200 went out, the body is visibly cut short",
    async run(ctx) {
      const res = await ctx.request({ path: "/throw/after-chunk" });
      assert.equal(res.status, 200);
      assert.ok(res.body.toString().startsWith("first chunk\n"), "the first chunk was delivered");
      assert.equal(res.complete, false, "the response must not look complete (no last chunk / short of Content-Length)");
      expectStatus(await ctx.request({ path: "/query?alive" }), 200, "alive");
    },
  },
  refused("header-crlf", "crlf-value", "a header value with CR/LF is refused: 500, nothing injected"),
  refused("header-name", "bad-name", "a header name with a space is refused: 500"),
  refused("hop-by-hop", "hop-by-hop", "an app-set Transfer-Encoding (hop-by-hop) is refused: 500"),
  refused("bad-status", "bad-status", "a status without a reason (\"200\") is refused: 500"),
  {
    id: "error-exc-info",
    description: "a second startResponse with excInfo before any output replaces the status (PEP 3333)",
    async run(ctx) {
      const res = await ctx.request({ path: "/exc-info" });
      expectStatus(res, 503, "recovered");
      assert.equal(header(res, "x-exc-info"), "1");
    },
  },
  {
    id: "error-content-length-short",
    description: "an app that sends less than its Content-Length: the response is visibly incomplete",
    async run(ctx) {
      const res = await ctx.request({ path: "/cl-short" });
      assert.equal(res.status, 200);
      assert.equal(res.complete, false, "fewer bytes than Content-Length, then the connection closed");
      assert.ok(res.body.length < 10);
    },
  },
];
