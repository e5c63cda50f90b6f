import { test } from "node:test";
import assert from "node:assert/strict";
import { bytesToByteString, environFromHttp, environFromParams, type HttpHead } from "../../src/index.ts";
import { request } from "../../src/testing/index.ts";
import { envEcho, run } from "./helpers.ts";

const head = (target: string, rawHeaders: string[] = ["Host", "example.com"], more: Partial<HttpHead> = {}): HttpHead =>
  ({ method: "GET", target, rawHeaders, httpVersion: "1.1", scheme: "http", serverName: "127.0.0.1", serverPort: "8000", ...more });

test("header-join: repeats joined with ', ', Cookie with '; '", () => {
  const env = environFromHttp(head("/", ["Host", "h", "X-A", "1", "x-a", "2", "Cookie", "a=1", "Cookie", "b=2", "X-B", "only"]));
  assert.equal(env.HTTP_X_A, "1, 2");
  assert.equal(env.HTTP_COOKIE, "a=1; b=2");
  assert.equal(env.HTTP_X_B, "only");
});

test("content-dup: Content-Type/Length only under CONTENT_*; nginx/lighttpd HTTP_CONTENT_* duplicates removed", () => {
  const env = environFromHttp(head("/", ["Host", "h", "Content-Type", "text/plain", "Content-Length", "3"]));
  assert.equal(env.CONTENT_TYPE, "text/plain");
  assert.equal(env.CONTENT_LENGTH, "3");
  assert.equal(env.HTTP_CONTENT_TYPE, undefined);
  const p = environFromParams({ REQUEST_METHOD: "POST", SCRIPT_NAME: "", PATH_INFO: "/", CONTENT_TYPE: "", CONTENT_LENGTH: "", HTTP_CONTENT_TYPE: "a/b", HTTP_CONTENT_LENGTH: "5" });
  assert.equal(p.CONTENT_TYPE, "a/b");
  assert.equal(p.CONTENT_LENGTH, "5");
  assert.ok(!("HTTP_CONTENT_TYPE" in p) && !("HTTP_CONTENT_LENGTH" in p));
});

test("content-empty: empty CONTENT_TYPE/CONTENT_LENGTH are removed (nginx sends them)", () => {
  const p = environFromParams({ REQUEST_METHOD: "GET", CONTENT_TYPE: "", CONTENT_LENGTH: "", SCRIPT_NAME: "", PATH_INFO: "/" });
  assert.ok(!("CONTENT_TYPE" in p) && !("CONTENT_LENGTH" in p));
  const h = environFromHttp(head("/", ["Host", "h", "Content-Type", ""]));
  assert.ok(!("CONTENT_TYPE" in h));
  const kept = environFromParams({ REQUEST_METHOD: "GET", CONTENT_TYPE: "x/y", SCRIPT_NAME: "", PATH_INFO: "/" });
  assert.equal(kept.CONTENT_TYPE, "x/y");
});

test("header-underscore: names with '_' or other non [A-Za-z0-9-] chars are dropped", () => {
  const env = environFromHttp(head("/", ["Host", "h", "X_User", "evil", "X-User", "good", "X.Dot", "d"]));
  assert.equal(env.HTTP_X_USER, "good");
  assert.ok(!Object.keys(env).some((k) => k.includes(".")));
  const only = environFromHttp(head("/", ["Host", "h", "X_User", "evil"]));
  assert.equal(only.HTTP_X_USER, undefined);
});

test("httpoxy: a Proxy header never becomes HTTP_PROXY (HTTP and gateway params)", () => {
  assert.equal(environFromHttp(head("/", ["Host", "h", "Proxy", "http://evil"])).HTTP_PROXY, undefined);
  assert.equal(environFromParams({ REQUEST_METHOD: "GET", HTTP_PROXY: "http://evil", SCRIPT_NAME: "", PATH_INFO: "/" }).HTTP_PROXY, undefined);
  assert.equal(environFromHttp(head("/", ["Host", "h", "Proxy-Foo", "ok"])).HTTP_PROXY_FOO, "ok");
});

test("header-cgi-key: a request header sets only its own HTTP_* key", () => {
  const env = environFromHttp(head("/a", ["Host", "h", "Script-Name", "/admin", "Path-Info", "/x", "Request-Method", "DELETE", "Https", "on"]));
  assert.equal(env.SCRIPT_NAME, "");
  assert.equal(env.PATH_INFO, "/a");
  assert.equal(env.REQUEST_METHOD, "GET");
  assert.equal(env.HTTPS, undefined);
  assert.equal(env.HTTP_SCRIPT_NAME, "/admin");
});

test("root-mount: SCRIPT_NAME '' and PATH_INFO '/' at the root (HTTP, lighttpd-style '/' and empty params)", () => {
  const h = environFromHttp(head("/"));
  assert.deepEqual([h.SCRIPT_NAME, h.PATH_INFO], ["", "/"]);
  const l = environFromParams({ REQUEST_METHOD: "GET", SCRIPT_NAME: "/", PATH_INFO: "x" });
  assert.deepEqual([l.SCRIPT_NAME, l.PATH_INFO], ["", "/x"]);
  const e = environFromParams({ REQUEST_METHOD: "GET", SCRIPT_NAME: "", PATH_INFO: "" });
  assert.deepEqual([e.SCRIPT_NAME, e.PATH_INFO], ["", "/"]);
});

test("mount: /app gives PATH_INFO '' for /app, '/x' for /app/x; /appx is not under it", () => {
  const split = (t: string) => {
    const e = environFromHttp(head(t), { mount: "/app" });
    return [e.SCRIPT_NAME, e.PATH_INFO];
  };
  assert.deepEqual(split("/app"), ["/app", ""]);
  assert.deepEqual(split("/app/"), ["/app", "/"]);
  assert.deepEqual(split("/app/x/y?q"), ["/app", "/x/y"]);
  assert.deepEqual(split("/appx"), ["", "/appx"]);
});

test("gateway-split: with a mount, SCRIPT_NAME/PATH_INFO come from REQUEST_URI, not the front server's split", () => {
  const nginx = { REQUEST_METHOD: "GET", SCRIPT_NAME: "/app/x/y", PATH_INFO: "", REQUEST_URI: "/app/x%20y/z?q=1", QUERY_STRING: "q=1" };
  const e = environFromParams(nginx, { mount: "/app" });
  assert.deepEqual([e.SCRIPT_NAME, e.PATH_INFO], ["/app", "/x y/z"]);
  const untrusted = environFromParams(nginx);
  assert.deepEqual([untrusted.SCRIPT_NAME, untrusted.PATH_INFO], ["/app/x/y", ""]);
});

test("query-string: raw, and '' when there is no '?'", () => {
  assert.equal(environFromHttp(head("/p?a=%20b&c")).QUERY_STRING, "a=%20b&c");
  assert.equal(environFromHttp(head("/p")).QUERY_STRING, "");
  assert.equal(environFromParams({ REQUEST_METHOD: "GET", SCRIPT_NAME: "", PATH_INFO: "/" }).QUERY_STRING, "");
});

test("server-name: from Host (with or without port, IPv6), else the listener", () => {
  const s = (h: string[] | null, scheme: "http" | "https" = "http") => {
    const e = environFromHttp(head("/", h ?? [], { scheme }));
    return [e.SERVER_NAME, e.SERVER_PORT];
  };
  assert.deepEqual(s(["Host", "example.com:8080"]), ["example.com", "8080"]);
  assert.deepEqual(s(["Host", "example.com"]), ["example.com", "80"]);
  assert.deepEqual(s(["Host", "example.com"], "https"), ["example.com", "443"]);
  assert.deepEqual(s(["Host", "[::1]:9"]), ["[::1]", "9"]);
  assert.deepEqual(s(["Host", "[::1]"]), ["[::1]", "80"]);
  assert.deepEqual(s(null), ["127.0.0.1", "8000"]);
});

test("byte-string: PATH_INFO is percent-decoded once, as one char per byte; REQUEST_URI raw", () => {
  const e = environFromHttp(head("/caf%C3%A9/%252F%2c"));
  assert.equal(e.PATH_INFO, "/caf\u00c3\u00a9/%2F,");
  assert.equal(e.REQUEST_URI, "/caf%C3%A9/%252F%2c");
  for (const v of Object.values(e)) for (const ch of v) assert.ok(ch.charCodeAt(0) <= 255);
});

test("url-scheme: tsgi.url_scheme is https exactly when HTTPS is on", async () => {
  const seen: string[] = [];
  const app = (env: Record<string, unknown>, start: (s: string, h: [string, string][]) => unknown) => {
    seen.push(`${env["tsgi.url_scheme"]}/${env.HTTPS ?? "-"}`);
    start("200 OK", []);
    return [];
  };
  await request(app as never, "/", { scheme: "https" });
  await request(app as never, "/");
  assert.deepEqual(seen, ["https/on", "http/-"]);
  const p = environFromParams({ REQUEST_METHOD: "GET", SCRIPT_NAME: "", PATH_INFO: "/", HTTPS: "ON" });
  assert.equal(p.HTTPS, "on");
  assert.equal(environFromParams({ REQUEST_METHOD: "GET", SCRIPT_NAME: "", PATH_INFO: "/", HTTPS: "off" }).HTTPS, undefined);
});

test("environ-keys: a sync app through the Gateway gets every required key", async () => {
  const { r } = await run(envEcho, "/x?y=1");
  const env = r.json<Record<string, string>>();
  for (const k of ["REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REQUEST_URI", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL"]) {
    assert.equal(typeof env[k], "string", k);
  }
  assert.equal(env.SERVER_PROTOCOL, "HTTP/1.1");
  assert.equal(env.HTTP_HOST, "testserver");
});

test("a Host port that is not a number falls back to the scheme's default port (server-name)", () => {
  const head = (host: string, scheme: "http" | "https" = "http") => ({ method: "GET", target: "/", rawHeaders: ["Host", host], httpVersion: "1.1", scheme, serverName: "127.0.0.1", serverPort: "8000" });
  assert.deepEqual(pick(environFromHttp(head("x:abc"))), ["x", "80"]);
  assert.deepEqual(pick(environFromHttp(head("x:", "https"))), ["x", "443"]);
  // The same Host again over the other scheme: the default port follows the scheme (the last split is cached).
  assert.deepEqual(pick(environFromHttp(head("x:", "http"))), ["x", "80"]);
  assert.deepEqual(pick(environFromHttp(head("x:", "http"))), ["x", "80"]);
  assert.deepEqual(pick(environFromHttp(head("x:99999"))), ["x", "80"]);
  assert.deepEqual(pick(environFromHttp(head("x:8080"))), ["x", "8080"]);
  assert.deepEqual(pick(environFromHttp(head("[::1]:81"))), ["[::1]", "81"]);
  assert.deepEqual(pick(environFromHttp(head("[::1]"))), ["[::1]", "80"]);
});

function pick(env: Record<string, string>): [string, string] {
  return [env.SERVER_NAME, env.SERVER_PORT];
}

test("header-position: a header name is keyed afresh when another request sent a different one at its position", () => {
  // addHeaders remembers the name seen at each position; a different name there must not reuse its key.
  const a = environFromHttp(head("/", ["Host", "h", "X-One", "1", "Proxy", "p"]));
  const b = environFromHttp(head("/", ["Host", "h", "X-Two", "2", "X-Three", "3"]));
  const c = environFromHttp(head("/", ["Host", "h", "X-One", "1", "Proxy", "p"]));
  assert.equal(a.HTTP_X_ONE, "1");
  assert.equal(a.HTTP_PROXY, undefined);
  assert.deepEqual([b.HTTP_X_ONE, b.HTTP_X_TWO, b.HTTP_X_THREE, b.HTTP_PROXY], [undefined, "2", "3", undefined]);
  assert.deepEqual(Object.keys(c).filter((k) => k.startsWith("HTTP_")), ["HTTP_HOST", "HTTP_X_ONE"]);
  // Names past the remembered positions go through the shared cache.
  const many: string[] = [];
  for (let i = 0; i < 40; i++) many.push(`X-H${i}`, String(i));
  const d = environFromHttp(head("/", many));
  assert.equal(d.HTTP_X_H39, "39");
  assert.equal(d.HTTP_X_H0, "0");
});

test("plain-object: an HTTP environ is a plain object whose keys are its own, enumerable, in request order", () => {
  const env = environFromHttp(head("/p?q", ["Host", "h:1", "Accept", "*/*"], { remoteAddr: "10.0.0.1", remotePort: "5000", scheme: "https" }));
  assert.equal(Object.getPrototypeOf(env), Object.prototype);
  assert.equal(env.constructor, Object);
  assert.deepEqual(Object.keys(env), [
    "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REQUEST_URI", "SERVER_NAME", "SERVER_PORT",
    "SERVER_PROTOCOL", "REMOTE_ADDR", "REMOTE_PORT", "HTTPS", "HTTP_HOST", "HTTP_ACCEPT",
  ]);
  assert.deepEqual({ ...env }, JSON.parse(JSON.stringify(env)));
  assert.equal(env.HTTPS, "on");
});

test("bytesToByteString: one char per byte for every length and byte value (short ones are built in JS, longer ones natively)", () => {
  const bytes = new Uint8Array(300);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37 + 11) & 0xff;
  const expected = (s: number, e: number) => Array.from(bytes.subarray(s, e), (c) => String.fromCharCode(c)).join("");
  for (const buf of [Buffer.from(bytes), bytes]) {
    for (let n = 0; n <= 20; n++) {
      for (const start of [0, 3, 255]) assert.equal(bytesToByteString(buf, start, start + n), expected(start, start + n), `${buf.constructor.name} ${start}+${n}`);
    }
    assert.equal(bytesToByteString(buf, 10, 5), "");
    assert.equal(bytesToByteString(buf), expected(0, 300));
  }
});
