/**
 * What examples/hono-app.ts must do under any carrier: one function per feature the issue
 * names (routing, middleware, json, formData, streaming helpers, cookies, c.env, a mounted
 * tsgi app), each asserting the bytes a client sees. Used by every carrier's test.
 */
import assert from "node:assert/strict";
import { fetchRaw, streamed } from "../runtimes/client.ts";

export interface Carrier {
  /** Base URL: `http://127.0.0.1:PORT` or `http://unix:/path.sock`. */
  base: string;
  /** URL prefix the app is mounted under (SCRIPT_NAME), e.g. "/app"; "" at the root. */
  prefix: string;
  /** The peer address the app should see in REMOTE_ADDR, when the carrier passes it. */
  remoteAddr?: string | null;
}

export const honoChecks: Record<string, (c: Carrier) => Promise<void>> = {
  async "routing and params"({ base, prefix }) {
    const r = await fetchRaw(base, `${prefix}/users/42?q=x%20y`);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body.toString()), { id: "42", q: "x y" });
    assert.equal(r.headers["x-powered-by"], "hono-on-tsgi");
    const nf = await fetchRaw(base, `${prefix}/nope`);
    assert.equal(nf.status, 404);
    assert.equal(nf.body.toString(), `no route for ${prefix}/nope\n`);
  },

  async "middleware short-circuits and c.req.json()"({ base, prefix }) {
    const denied = await fetchRaw(base, `${prefix}/api/echo`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
    assert.equal(denied.status, 401);
    assert.deepEqual(JSON.parse(denied.body.toString()), { error: "missing or wrong x-api-key" });
    const body = JSON.stringify({ a: [1, 2, 3], s: "héllo" });
    const r = await fetchRaw(base, `${prefix}/api/echo`, { method: "POST", body, headers: { "content-type": "application/json", "x-api-key": "secret" } });
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body.toString()), { received: { a: [1, 2, 3], s: "héllo" } });
  },

  async "c.req.formData() with a file"({ base, prefix }) {
    const boundary = "----tsgiBoundary7";
    const body = [
      `--${boundary}`, `Content-Disposition: form-data; name="name"`, "", "Ada",
      `--${boundary}`, `Content-Disposition: form-data; name="file"; filename="notes.txt"`, "Content-Type: text/plain", "", "line one\nline two",
      `--${boundary}--`, "",
    ].join("\r\n");
    const r = await fetchRaw(base, `${prefix}/upload`, { method: "POST", body, headers: { "content-type": `multipart/form-data; boundary=${boundary}` } });
    assert.equal(r.status, 200, r.body.toString());
    assert.deepEqual(JSON.parse(r.body.toString()), { name: "Ada", file: { name: "notes.txt", size: 17, text: "line one\nline two" } });
  },

  async "streamText arrives in pieces"({ base, prefix }) {
    const { firstMs, body } = await streamed(base, `${prefix}/stream`);
    assert.equal(body, "line 0\nline 1\nline 2\n");
    assert.ok(firstMs < 180, `first line took ${firstMs} ms: the stream was buffered`);
  },

  async "streamSSE"({ base, prefix }) {
    const r = await fetchRaw(base, `${prefix}/sse`);
    assert.equal(r.status, 200);
    assert.match(String(r.headers["content-type"]), /^text\/event-stream/);
    assert.equal(r.body.toString(), [0, 1, 2].map((i) => `event: tick\ndata: tick ${i}\nid: ${i}\n\n`).join(""));
  },

  async "cookies: two Set-Cookie lines, Cookie parsed"({ base, prefix }) {
    const r = await fetchRaw(base, `${prefix}/cookies/set`);
    assert.deepEqual(r.headers["set-cookie"], ["session=abc123; Path=/; HttpOnly", "theme=dark; Path=/"]);
    const g = await fetchRaw(base, `${prefix}/cookies`, { headers: { cookie: "session=abc123; theme=dark" } });
    assert.deepEqual(JSON.parse(g.body.toString()), { session: "abc123", theme: "dark" });
  },

  async "c.env is the environ"({ base, prefix, remoteAddr }) {
    const r = await fetchRaw(base, `${prefix}/env?k=v`);
    assert.equal(r.status, 200);
    const env = JSON.parse(r.body.toString());
    assert.equal(env.method, "GET");
    assert.equal(env.scriptName, prefix);
    assert.equal(env.pathInfo, "/env");
    assert.equal(env.query, "k=v");
    assert.equal(env.urlScheme, "http");
    if (remoteAddr !== undefined) assert.equal(env.remoteAddr, remoteAddr);
  },

  async "a tsgi app mounted inside Hono"({ base, prefix }) {
    const r = await fetchRaw(base, `${prefix}/legacy/a/b?c=d`);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), `legacy app: SCRIPT_NAME=${prefix}/legacy PATH_INFO=/a/b\n`);
  },
};
