/**
 * cgi-run on its own, fed exactly what a web server feeds a CGI script (RFC 3875): the
 * response bytes, the body rules, httpoxy, NPH, redirects and every bad-input path.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { join } from "node:path";
import { FIXTURES, makeStage, type Stage } from "./stage.ts";
import { cgiEnv, runCgiRun, runProcess, splitResponse } from "./spawn.ts";

let stage: Stage;
let base: Record<string, string>;

before(() => {
  stage = makeStage();
  base = { TSGI_CACHE_DIR: stage.cache, PATH: stage.path };
  stage.app("checks.ts", join(FIXTURES, "checks.ts"));
  stage.app("nph-checks.ts", join(FIXTURES, "checks.ts"));
  stage.app("sync.ts", join(FIXTURES, "kinds.ts"), "sync");
  stage.app("async.ts", join(FIXTURES, "kinds.ts"), "asyncApp");
  stage.app("hono.ts", join(FIXTURES, "kinds.ts"), "hono");
  stage.app("fetch.ts", join(FIXTURES, "kinds.ts"), "fetchFn");
  stage.app("not-app.ts", join(FIXTURES, "broken.ts"), "notAnApp");
  stage.app("throws.ts", join(FIXTURES, "broken.ts"));
  stage.app("throws-on-load.ts", join(FIXTURES, "throws-on-load.ts"));
});
after(() => stage.remove());

const run = (name: string, pathInfo = "", extra: Record<string, string> = {}, stdin?: string | Buffer) =>
  runCgiRun(join(stage.cgiBin, name), { env: { ...base, ...cgiEnv(name, pathInfo, extra) }, stdin });

// The app sends its JSON as UTF-8 text; byte-string values show up as one char per byte.
const json = (out: Buffer) => JSON.parse(splitResponse(out).body.toString("utf8")) as Record<string, unknown>;

describe("cgi-run: app kinds and the response format", () => {
  test("sync app: Status line first, CRLF headers, Content-Length added, exit 0", async () => {
    const r = await run("sync.ts", "/x");
    assert.equal(r.stdout.toString("latin1"), "Status: 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 7\r\n\r\nsync /x");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, "");
  });

  test("async app reads exactly CONTENT_LENGTH bytes, never what follows in the pipe", async () => {
    const r = await run("async.ts", "/a", { REQUEST_METHOD: "POST", CONTENT_LENGTH: "5" }, "helloEXTRA");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.toString("latin1"), /^Status: 201 Created\r\n/);
    assert.equal(splitResponse(r.stdout).body.toString(), "async /cgi-bin/async.ts/a hello");
  });

  test("fetch apps: a Hono app object and a (Request) => Response function", async () => {
    const h = await run("hono.ts", "/hono/world");
    assert.equal(splitResponse(h.stdout).body.toString(), "hono world", h.stderr);
    const e = await run("hono.ts", "/hono/echo", { REQUEST_METHOD: "POST", CONTENT_LENGTH: "3", CONTENT_TYPE: "text/plain" }, "abc");
    assert.equal(splitResponse(e.stdout).body.toString(), "hono echo abc", e.stderr);
    const f = await run("fetch.ts", "/p");
    assert.equal(splitResponse(f.stdout).body.toString(), "fetch /cgi-bin/fetch.ts/p", f.stderr);
  });

  test("tsgi.run_once and tsgi.multiprocess are true, multithread false", async () => {
    const j = json((await run("checks.ts", "/env")).stdout);
    assert.deepEqual([j.run_once, j.multiprocess, j.multithread], [true, true, false]);
  });

  test("a large body reaches a slow reader whole (backpressure), then the process exits 0", async () => {
    const n = 5 * 1024 * 1024 + 17;
    const r = await runCgiRun(join(stage.cgiBin, "checks.ts"), { env: { ...base, ...cgiEnv("checks.ts", `/big/${n}`) }, slowReadMs: 2 });
    assert.equal(r.status, 0, r.stderr);
    const body = splitResponse(r.stdout).body;
    assert.equal(body.length, n);
    for (const i of [0, 1, 65535, 65536, n - 1]) assert.equal(body[i], (i % 65536) & 255, `byte ${i}`);
  });

  test("NPH script (nph- prefix): a full HTTP status line, Date and Connection: close", async () => {
    const r = await run("nph-checks.ts", "/env");
    const { head } = splitResponse(r.stdout);
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head, /\r\nConnection: close\r\n/);
    assert.match(head, /\r\nDate: \w{3}, \d\d \w{3} \d{4} /);
    assert.doesNotMatch(head, /Status:/);
  });

  test("200 with a local Location is a CGI local redirect: the Location line alone, no body", async () => {
    const r = await run("checks.ts", "/local");
    assert.equal(r.stdout.toString("latin1"), "Location: /cgi-bin/checks.ts/env?from-local\r\n\r\n");
  });

  test("a 302 to an absolute URL keeps its Status, so no server mistakes it for a local redirect", async () => {
    const r = await run("checks.ts", "/client");
    const { head, body } = splitResponse(r.stdout);
    assert.match(head, /^Status: 302 Found\r\nLocation: http:\/\/example\.com\/elsewhere\r\n/);
    assert.equal(body.toString(), "moved\n");
  });
});

describe("cgi-run: request body rules (RFC 3875 §4.2)", () => {
  test("no CONTENT_LENGTH means no body, even with data on stdin", async () => {
    const j = json((await run("checks.ts", "/env", { REQUEST_METHOD: "POST" }, "ignored")).stdout);
    assert.equal(j.bodyLength, 0);
  });

  test("Apache's de-chunked body: no CONTENT_LENGTH, HTTP_TRANSFER_ENCODING=chunked, read to EOF", async () => {
    const body = Buffer.alloc(200_000, 7);
    const j = json((await run("checks.ts", "/env", { REQUEST_METHOD: "POST", HTTP_TRANSFER_ENCODING: "chunked" }, body)).stdout);
    assert.equal(j.bodyLength, body.length);
    assert.equal(j.bodySha256, createHash("sha256").update(body).digest("hex"));
  });

  test("a body shorter than CONTENT_LENGTH: 400 and one line on stderr", async () => {
    const r = await run("checks.ts", "/env", { REQUEST_METHOD: "POST", CONTENT_LENGTH: "10" }, "abc");
    assert.match(r.stdout.toString("latin1"), /^Status: 400 /);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /3 of 10|incomplete|shorter|ended/i);
  });

  test("a malformed CONTENT_LENGTH: 400", async () => {
    const r = await run("checks.ts", "/env", { REQUEST_METHOD: "POST", CONTENT_LENGTH: "12x" }, "abc");
    assert.match(r.stdout.toString("latin1"), /^Status: 400 /);
  });
});

describe("cgi-run: environment", () => {
  test("httpoxy: HTTP_PROXY is neither in environ nor in process.env", async () => {
    const j = json((await run("checks.ts", "/env", { HTTP_PROXY: "http://attacker.example:8080" })).stdout);
    assert.equal(j.environProxy, null);
    assert.equal(j.processProxy, null);
  });

  test("non-ASCII path bytes arrive as byte strings: valid UTF-8 and a raw 0xFF", async () => {
    const j = json((await run("checks.ts", "/caf\u00e9")).stdout);
    assert.equal(j.PATH_INFO, "/caf\u00c3\u00a9");
    // An env value that is not UTF-8 cannot be written from JS: let the shell put a raw 0xFF in.
    const r = await runProcess("/bin/sh", ["-c", `PATH_INFO="$(printf '/a\\377b')" exec "$0" "$@"`, ...cgiRunCommand(join(stage.cgiBin, "checks.ts"))], {
      env: { ...base, ...cgiEnv("checks.ts", "", { REQUEST_URI: "/cgi-bin/checks.ts/a%FFb" }) },
    });
    assert.equal(json(r.stdout).PATH_INFO, "/a\u00ffb", r.stderr);
  });

  test("the #!/usr/bin/env cgi-run line works when the kernel runs the script", async () => {
    const r = await runProcess(join(stage.cgiBin, "checks.ts"), [], { env: { ...base, ...cgiEnv("checks.ts", "/env") } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(json(r.stdout).PATH_INFO, "/env");
  });
});

describe("cgi-run: bad input gets a 500 and one line that says what to fix", () => {
  const expect500 = (r: { stdout: Buffer; stderr: string; status: number | null }, stderr: RegExp) => {
    assert.match(r.stdout.toString("latin1"), /^Status: 500 Internal Server Error\r\n/);
    assert.doesNotMatch(r.stdout.toString("latin1"), /\n\s+at /, "no stack trace to the client");
    assert.match(r.stderr, stderr);
    assert.notEqual(r.status, 0);
  };

  test("missing app file", async () => {
    const r = await runCgiRun(join(stage.cgiBin, "nope.ts"), { env: { ...base, ...cgiEnv("nope.ts") } });
    expect500(r, /app file .*nope\.ts not found/);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  });

  test("an export that is no app", async () => {
    const r = await run("not-app.ts");
    expect500(r, /is not a tsgi app/);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  });

  test("a module that throws while loading", async () => {
    expect500(await run("throws-on-load.ts"), /failed at module top level/);
  });

  test("an app that throws: 500 to the client, its stack on stderr", async () => {
    const r = await run("throws.ts", "/x");
    assert.match(r.stdout.toString("latin1"), /^Status: 500 Internal Server Error\r\n/);
    assert.doesNotMatch(r.stdout.toString("latin1"), /thrown on purpose|\n\s+at /);
    assert.match(r.stderr, /broken: thrown on purpose\n\s+at /);
  });

  test("cgi-run with no app file in a CGI context answers 500", async () => {
    const [cmd, args] = cgiRunCommandSplit();
    const r = await runProcess(cmd, args, { env: { ...base, ...cgiEnv("x") } });
    expect500(r, /no app file/);
  });
});

/** The command that runs cgi-run with `file`, as a flat list (for sh -c). */
function cgiRunCommand(file: string): string[] {
  const [cmd, args] = cgiRunCommandSplit();
  return [cmd, ...args, file];
}

function cgiRunCommandSplit(): [string, string[]] {
  return [join(stage.bin, "cgi-run"), []];
}
