import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, symlinkSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compose, urlMap, mount, serveStatic, conditionalGet, accessLog, requestId, errorPage, runtime, type Middleware } from "../../src/middleware/index.ts";
import { TestClient, request } from "../../src/testing/index.ts";
import { asyncApp, type AsyncApp, type Environ, type StartResponse } from "../../src/index.ts";

const where = (env: Environ, start: StartResponse) => {
  start("200 OK", [["Content-Type", "text/plain"]]);
  return [`${env.SCRIPT_NAME}|${env.PATH_INFO}`];
};
const whereAsync: AsyncApp = asyncApp(async (scope, _r, send) => {
  if (scope.type !== "http") throw new Error("no lifespan");
  await send({ type: "http.response.start", status: 200, headers: [] });
  await send({ type: "http.response.body", body: `${scope.root_path}|${scope.path.slice(scope.root_path.length)}|${JSON.stringify(scope.state?.params ?? null)}` });
});
const whereFetch = (req: Request) => new Response(new URL(req.url).pathname);

test("urlMap: longest prefix wins, SCRIPT_NAME/PATH_INFO split at segment boundaries", async () => {
  const app = urlMap({ "/": where, "/api": where, "/api/v2": where, "/users/:id": whereAsync, "/f": whereFetch });
  const cases: [string, string][] = [
    ["/", "|/"], ["/x", "|/x"], ["/api", "/api|"], ["/api/", "/api|/"], ["/api/x", "/api|/x"],
    ["/apix", "|/apix"], ["/api/v2/y", "/api/v2|/y"], ["/users/7/posts", `/users/7|/posts|{"id":"7"}`],
    ["/f/deep/path", "/deep/path"], ["/f", "/"],
  ];
  for (const [path, want] of cases) assert.equal((await request(app, path)).text(), want, path);
});

test("urlMap: no mount matches gives 404; mount() passes other paths on", async () => {
  assert.equal((await request(urlMap({ "/a": where }), "/b")).status, 404);
  const app = compose(where, mount("/admin", (_e: Environ, s: StartResponse) => {
    s("200 OK", []);
    return ["admin"];
  }));
  assert.equal((await request(app, "/admin/x")).text(), "admin");
  assert.equal((await request(app, "/other")).text(), "|/other");
});

const dir = mkdtempSync(join(tmpdir(), "tsgi-static-"));
after(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, "pub"));
mkdirSync(join(dir, "pub", "sub"));
writeFileSync(join(dir, "pub", "hello.txt"), "hello world");
writeFileSync(join(dir, "pub", "sub", "index.html"), "<p>index</p>");
writeFileSync(join(dir, "pub", ".secret"), "dot");
writeFileSync(join(dir, "outside.txt"), "outside");
symlinkSync(join(dir, "outside.txt"), join(dir, "pub", "link.txt"));
utimesSync(join(dir, "pub", "hello.txt"), new Date("2024-01-02T03:04:05Z"), new Date("2024-01-02T03:04:05Z"));

const notFound = (_e: Environ, s: StartResponse) => {
  s("404 Not Found", [["Content-Type", "text/plain"]]);
  return ["nf"];
};
const files = compose(notFound, serveStatic({ root: join(dir, "pub") }));

test("static: serves a file with type, length, ETag, Last-Modified; HEAD has no body", async () => {
  const r = await request(files, "/hello.txt");
  assert.equal(r.status, 200);
  assert.equal(r.text(), "hello world");
  assert.equal(r.header("content-type"), "text/plain; charset=utf-8");
  assert.equal(r.header("content-length"), "11");
  assert.equal(r.header("last-modified"), "Tue, 02 Jan 2024 03:04:05 GMT");
  assert.match(r.header("etag")!, /^W\/"b-/);
  const h = await request(files, "/hello.txt", { method: "HEAD" });
  assert.equal(h.status, 200);
  assert.equal(h.body.length, 0);
  assert.equal(h.header("content-length"), "11");
  assert.equal((await request(files, "/sub/")).text(), "<p>index</p>");
});

test("static: traversal, encoded traversal, NUL, dotfiles and symlinks out of root fall through or fail", async () => {
  for (const p of ["/../outside.txt", "/%2e%2e/outside.txt", "/sub/..%2f..%2foutside.txt", "/.secret", "/link.txt", "/missing"]) {
    const r = await request(files, p);
    assert.equal(r.status, 404, p);
    assert.equal(r.text(), "nf", p);
  }
  assert.equal((await request(files, "/hello.txt%00.png")).status, 400);
  assert.equal((await request(files, "/hello.txt", { method: "POST", body: "" })).status, 404);
});

test("static: conditional requests get 304; ranges get 206 or 416", async () => {
  const first = await request(files, "/hello.txt");
  const etag = first.header("etag")!;
  const c1 = await request(files, "/hello.txt", { headers: { "If-None-Match": etag } });
  assert.equal(c1.status, 304);
  assert.equal(c1.body.length, 0);
  assert.equal(c1.header("etag"), etag);
  const c2 = await request(files, "/hello.txt", { headers: { "If-Modified-Since": "Tue, 02 Jan 2024 03:04:05 GMT" } });
  assert.equal(c2.status, 304);
  const c3 = await request(files, "/hello.txt", { headers: { "If-None-Match": '"other"' } });
  assert.equal(c3.status, 200);
  const r1 = await request(files, "/hello.txt", { headers: { Range: "bytes=0-4" } });
  assert.equal(r1.status, 206);
  assert.equal(r1.text(), "hello");
  assert.equal(r1.header("content-range"), "bytes 0-4/11");
  const r2 = await request(files, "/hello.txt", { headers: { Range: "bytes=-5" } });
  assert.equal(r2.text(), "world");
  const r3 = await request(files, "/hello.txt", { headers: { Range: "bytes=20-" } });
  assert.equal(r3.status, 416);
  assert.equal(r3.header("content-range"), "bytes */11");
  const r4 = await request(files, "/hello.txt", { headers: { Range: "bytes=0-1", "If-Range": '"stale"' } });
  assert.equal(r4.status, 200);
});

test("conditionalGet: 304 on matching ETag or Last-Modified, body dropped (close() runs), else passes", async () => {
  let closes = 0;
  const app = (_e: Environ, s: StartResponse) => {
    s("200 OK", [["Content-Type", "text/plain"], ["ETag", '"v1"'], ["Last-Modified", "Tue, 02 Jan 2024 03:04:05 GMT"], ["Cache-Control", "max-age=1"]]);
    return Object.assign((function* () { yield "body"; })(), { close: () => void closes++ });
  };
  const wrapped = compose(app, conditionalGet());
  const r = await request(wrapped, "/", { headers: { "If-None-Match": 'W/"v1", "v0"' } });
  assert.equal(r.status, 304);
  assert.equal(r.body.length, 0);
  assert.equal(r.header("content-type"), undefined);
  assert.equal(r.header("cache-control"), "max-age=1");
  await new Promise((res) => setTimeout(res, 10));
  assert.equal(closes, 1);
  assert.equal((await request(wrapped, "/", { headers: { "If-Modified-Since": "Wed, 03 Jan 2024 00:00:00 GMT" } })).status, 304);
  assert.equal((await request(wrapped, "/", { headers: { "If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT" } })).status, 200);
  assert.equal((await request(wrapped, "/", { headers: { "If-None-Match": '"v2"' } })).text(), "body");
  assert.equal((await request(wrapped, "/", { method: "POST", headers: { "If-None-Match": '"v1"' } })).status, 200);
});

test("accessLog: one combined-format line after the body, bytes counted, quotes escaped", async () => {
  const lines: string[] = [];
  const app = compose((_e: Environ, s: StartResponse) => {
    s("201 Created", []);
    return (function* () { yield "abc"; yield "de"; })();
  }, accessLog({ write: (l) => lines.push(l) }));
  await request(app, "/p?q=1", { headers: { "User-Agent": 'evil"agent', Referer: "http://r/" } });
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/p\?q=1 HTTP\/1\.1" 201 5 "http:\/\/r\/" "evil\\x22agent"$/);
});

test("requestId: keeps a valid incoming id, replaces a bad one, app and response see it", async () => {
  const app = compose((env: Environ, s: StartResponse) => {
    s("200 OK", []);
    return [String(env.HTTP_X_REQUEST_ID)];
  }, requestId({ generate: () => "generated" }));
  const a = await request(app, "/", { headers: { "X-Request-Id": "abc-123" } });
  assert.equal(a.text(), "abc-123");
  assert.equal(a.header("x-request-id"), "abc-123");
  const b = await request(app, "/", { headers: { "X-Request-Id": "bad id\twith <stuff>" } });
  assert.equal(b.text(), "generated");
  assert.equal(b.header("x-request-id"), "generated");
});

test("errorPage: dev shows the escaped stack; production a plain 500; after-headers errors abort", async () => {
  const boom = (_e: Environ, _s: StartResponse): string[] => {
    throw new Error("<boom>");
  };
  const logs: string[] = [];
  const dev = await request(compose(boom, errorPage({ dev: true, log: (l) => logs.push(l) })), "/");
  assert.equal(dev.status, 500);
  assert.match(dev.header("content-type")!, /text\/html/);
  assert.match(dev.text(), /&#60;boom&#62;/);
  assert.doesNotMatch(dev.text(), /<boom>/);
  const prod = await request(compose(boom, errorPage({ dev: false, log: (l) => logs.push(l) })), "/");
  assert.equal(prod.text(), "Internal Server Error\n");
  assert.equal(logs.length, 2);
  const late = (_e: Environ, s: StartResponse) => {
    s("200 OK", []);
    return (function* () { yield "partial"; throw new Error("late"); })();
  };
  const client = new TestClient(compose(late, errorPage({ dev: true, log: () => {} })));
  const r = await client.get("/");
  assert.equal(r.status, 200);
  assert.equal(r.aborted, true);
});

test("runtime: adds X-Runtime in seconds", async () => {
  const r = await request(compose(where, runtime()), "/");
  assert.match(r.header("x-runtime")!, /^\d+\.\d{6}$/);
});

test("middleware compose in order with a real set: request id seen by the access log", async () => {
  const lines: string[] = [];
  const stamp: Middleware = async (req, next) => {
    const res = await next(req);
    lines.push(`id=${String(req.state.requestId ?? "-")}`);
    return res;
  };
  await request(compose(where, requestId({ generate: () => "r1" }), stamp), "/");
  assert.deepEqual(lines, ["id=r1"]);
});
