/** Environ cases: every CGI and tsgi key, per method (PEP 3333 §environ, RFC 3875 §4.1). */
import { header } from "./client.ts";
import { assert, type BatteryCase } from "./case.ts";
import type { BatteryContext, RequestSpec } from "./context.ts";

type Env = Record<string, unknown>;

/** Keys every request has, whatever its method: checked against what the battery sent. */
export function checkCommonKeys(ctx: BatteryContext, env: Env, method: string, pathInfo: string, query: string, rawTarget: string): void {
  assert.equal(env.REQUEST_METHOD, method, "REQUEST_METHOD");
  assert.equal(env.SCRIPT_NAME, ctx.mount, "SCRIPT_NAME is the mount point (\"\" at the root)");
  assert.equal(env.PATH_INFO, pathInfo, "PATH_INFO (percent-decoded byte string)");
  assert.equal(env.QUERY_STRING, query, "QUERY_STRING (raw)");
  assert.equal(env.SERVER_NAME, ctx.serverName, "SERVER_NAME from the Host header");
  assert.equal(env.SERVER_PORT, ctx.serverPort, "SERVER_PORT from the Host header");
  assert.match(String(env.SERVER_PROTOCOL), /^HTTP\/(1\.[01]|2)$/, "SERVER_PROTOCOL");
  if (env.REQUEST_URI !== undefined) assert.equal(env.REQUEST_URI, ctx.url(rawTarget), "REQUEST_URI is the raw target");
  if (env.REMOTE_ADDR !== undefined) assert.match(String(env.REMOTE_ADDR), /^[0-9a-fA-F:.]+$/, "REMOTE_ADDR is an IP address");
  assert.equal(env.HTTP_HOST, ctx.host, "HTTP_HOST");
  assert.equal(env.HTTP_CONTENT_TYPE, undefined, "no HTTP_CONTENT_TYPE");
  assert.equal(env.HTTP_CONTENT_LENGTH, undefined, "no HTTP_CONTENT_LENGTH");
}

export function checkTsgiKeys(env: Env, bodyLength: number): void {
  assert.deepEqual(env["tsgi.version"], [1, 0], "tsgi.version");
  assert.equal(env["tsgi.url_scheme"], "http", "tsgi.url_scheme");
  assert.deepEqual(env["tsgi.input"], { length: bodyLength, read: "function", readLine: "function" }, "tsgi.input");
  assert.deepEqual(env["tsgi.errors"], { write: "function" }, "tsgi.errors");
  for (const k of ["tsgi.multithread", "tsgi.multiprocess", "tsgi.run_once"]) assert.equal(typeof env[k], "boolean", k);
}

function noBodyKeys(env: Env): void {
  assert.ok(env.CONTENT_LENGTH === undefined || env.CONTENT_LENGTH === "0", `CONTENT_LENGTH absent or "0" without a body, got ${JSON.stringify(env.CONTENT_LENGTH)}`);
  assert.equal(env.CONTENT_TYPE, undefined, "no CONTENT_TYPE without one sent");
  assert.equal(env["battery.body"], "", "empty input");
}

function methodCase(method: string, body?: string): BatteryCase {
  return {
    id: `environ-${method.toLowerCase()}`,
    description: `${method} ${body === undefined ? "without" : "with"} a body: every CGI and tsgi key`,
    async run(ctx) {
      const spec: RequestSpec = { method, path: "/env/m?x=1&y=%41" };
      if (body !== undefined) {
        spec.body = body;
        spec.headers = [["Content-Type", "text/plain; charset=utf-8"]];
      }
      const env = await ctx.environ(spec);
      checkCommonKeys(ctx, env, method, "/env/m", "x=1&y=%41", "/env/m?x=1&y=%41");
      if (body === undefined) {
        noBodyKeys(env);
        checkTsgiKeys(env, 0);
      } else {
        const n = Buffer.byteLength(body);
        assert.equal(env.CONTENT_LENGTH, String(n), "CONTENT_LENGTH");
        assert.equal(env.CONTENT_TYPE, "text/plain; charset=utf-8", "CONTENT_TYPE");
        assert.equal(env["battery.body"], Buffer.from(body).toString("latin1"), "tsgi.input gives the body");
        checkTsgiKeys(env, n);
      }
    },
  };
}

export const environCases: BatteryCase[] = [
  methodCase("GET"),
  methodCase("POST", "name=tatsuhiko&x=ü"),
  methodCase("PUT", "{\"put\":true}"),
  methodCase("PATCH", "patch body"),
  methodCase("DELETE"),
  methodCase("OPTIONS"),
  {
    id: "environ-head",
    description: "HEAD: CGI keys right (read from a header), no body on the wire",
    async run(ctx) {
      const conn = await ctx.connect();
      try {
        await conn.write(ctx.encode({ method: "HEAD", path: "/env/h?q=1", keepAlive: true }));
        const res = await conn.readResponse({ head: true });
        assert.equal(res.status, 200);
        assert.equal(header(res, "x-request-method"), "HEAD");
        const env = JSON.parse(Buffer.from(header(res, "x-environ") ?? "", "base64").toString("utf8")) as Env;
        assert.equal(env.REQUEST_METHOD, "HEAD");
        assert.equal(env.SCRIPT_NAME, ctx.mount);
        assert.equal(env.PATH_INFO, "/env/h");
        assert.equal(env.QUERY_STRING, "q=1");
        // If the server had sent a body, it would now be read as the next response's status line.
        if (ctx.capabilities.keepAlive === true) {
          await conn.write(ctx.encode({ path: "/query?after-head", keepAlive: false }));
          const next = await conn.readResponse();
          assert.equal(next.status, 200);
          assert.equal(next.body.toString(), "after-head");
        }
      } finally {
        conn.destroy();
      }
    },
  },
  {
    id: "environ-root",
    description: "the mount point itself: SCRIPT_NAME = mount, PATH_INFO \"/\" at the root or \"\" under a mount",
    async run(ctx) {
      const env = await ctx.environ({ path: "" === ctx.mount ? "/" : "" });
      assert.equal(env.SCRIPT_NAME, ctx.mount);
      assert.equal(env.PATH_INFO, ctx.mount === "" ? "/" : "");
    },
  },
  {
    id: "environ-mount-slash",
    description: "mount + \"/\": SCRIPT_NAME = mount (never ending in /), PATH_INFO \"/\"",
    async run(ctx) {
      const env = await ctx.environ({ path: "/" });
      assert.equal(env.SCRIPT_NAME, ctx.mount);
      assert.ok(!String(env.SCRIPT_NAME).endsWith("/"), "SCRIPT_NAME never ends with /");
      assert.equal(env.PATH_INFO, "/");
      assert.equal(env.QUERY_STRING, "", "QUERY_STRING present and empty without ?");
    },
  },
  {
    id: "environ-no-cookie-key",
    description: "Cookie appears only as HTTP_COOKIE, never as COOKIE (Plack #23)",
    async run(ctx) {
      const env = await ctx.environ({ path: "/env", headers: [["Cookie", "foo=bar"]] });
      assert.equal(env.HTTP_COOKIE, "foo=bar");
      assert.equal(env.COOKIE, undefined);
    },
  },
  {
    id: "environ-http10",
    description: "an HTTP/1.0 request is served (SERVER_PROTOCOL HTTP/1.x) and the connection closed after it",
    needs: ["http10"],
    async run(ctx) {
      const conn = await ctx.connect();
      try {
        await conn.write(ctx.encode({ path: "/env/ten", version: "1.0", keepAlive: false }));
        const res = await conn.readResponse();
        assert.equal(res.status, 200);
        const env = JSON.parse(res.body.toString("utf8")) as Env;
        assert.equal(env.SERVER_PROTOCOL, "HTTP/1.0");
        assert.ok(await conn.waitClosed(5000), "the server closes an HTTP/1.0 connection without keep-alive");
      } finally {
        conn.destroy();
      }
    },
  },
];
