/**
 * `tsgi serve` as a user meets it: errors (one line, non-zero exit), help and version, startup
 * lines, several listeners, the access log, --max-body, TLS and graceful stop on SIGTERM.
 * Runs on the runtime TSGI_RUNTIME names (tsgiCommand).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Connection } from "../../src/testing/index.ts";
import { stopAll } from "../support/process.ts";
import { ROOT, runtime, tsgiCommand } from "../support/runtime.ts";
import { BATTERY_APP, startTsgi } from "../battery/serve.ts";

const dir = mkdtempSync(join(tmpdir(), "tsgi-cli-"));
after(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

function tsgi(args: string[]) {
  const [cmd, argv] = tsgiCommand(args);
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return spawnSync(cmd, argv, { cwd: ROOT, encoding: "utf8", timeout: 30_000, env });
}

/** The command fails with `status` and exactly one stderr line matching `re`. */
function failsWith(args: string[], status: number, re: RegExp): void {
  const r = tsgi(args);
  assert.equal(r.status, status, `exit status of tsgi ${args.join(" ")}; stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split("\n").filter((l) => !/^(Warning|Check file|Download)/.test(l));
  assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
  assert.match(lines[0], /^tsgi: error: /);
  assert.match(lines[0], re);
}

const urlOf = (u: string) => {
  const m = /^https?:\/\/([^:/]+):(\d+)$/.exec(u)!;
  return { host: m[1], port: Number(m[2]) };
};

async function get(endpoint: { host: string; port: number } | { path: string }, raw: string) {
  const c = await Connection.open(endpoint);
  try {
    await c.write(raw);
    return await c.readResponse();
  } finally {
    c.destroy();
  }
}

describe("tsgi serve: errors are one line and a non-zero exit", () => {
  test("missing file", () => failsWith(["serve", "no/such/app.ts"], 1, /app file no\/such\/app\.ts not found/));
  test("missing export", () => failsWith(["serve", "examples/hello.ts:nope"], 1, /has no export "nope" \(its exports: default\)/));
  test("an export that is no app", () => failsWith(["serve", "test/node/fixtures/not-app.mjs"], 1, /is not a tsgi app/));
  test("a bad flag", () => failsWith(["serve", "examples/hello.ts", "--bogus"], 2, /--bogus/));
  test("a bad address", () => failsWith(["serve", "examples/hello.ts", "--http", "nowhere"], 2, /bad address "nowhere"/));
  test("a port above 65535", () => failsWith(["serve", "examples/hello.ts", "--http", ":70000"], 2, /above 65535/));
  test("a bad size", () => failsWith(["serve", "examples/hello.ts", "--max-body", "lots"], 2, /--max-body "lots"/));
  test("--certfile without --keyfile", () => failsWith(["serve", "examples/hello.ts", "--certfile", "x.pem"], 2, /go together/));
  test("an unreadable certificate", () => failsWith(["serve", "examples/hello.ts", "--http", "127.0.0.1:0", "--certfile", "no.pem", "--keyfile", "no.key"], 1, /--certfile no\.pem: cannot read it \(ENOENT\)/));
  test("no app", () => failsWith(["serve"], 2, /no app given/));
  test("two apps", () => failsWith(["serve", "a.ts", "b.ts"], 2, /one app only/));
  test("an unknown command", () => failsWith(["srve", "a.ts"], 2, /unknown command "srve"/));
  test("a port in use", async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
    const port = (busy.address() as { port: number }).port;
    try {
      // spawnSync would block this process's event loop, which is fine: nothing needs to answer.
      failsWith(["serve", "examples/hello.ts", "--http", `127.0.0.1:${port}`], 1, new RegExp(`cannot listen on http://127\\.0\\.0\\.1:${port}: .*in use`, "i"));
    } finally {
      busy.close();
    }
  });
});

describe("tsgi serve: help, version, startup", () => {
  test("--help lists every flag", () => {
    const r = tsgi(["serve", "--help"]);
    assert.equal(r.status, 0);
    for (const flag of ["--http", "--fastcgi", "--uwsgi", "--mount", "--access-log", "--timeout", "--max-body", "--certfile", "--keyfile", "--graceful-timeout"]) {
      assert.ok(r.stdout.includes(flag), `help mentions ${flag}`);
    }
  });
  test("--version", () => {
    const r = tsgi(["--version"]);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^tsgi \d+\.\d+\.\d+\n$/);
  });
  test("one startup line per listener, TCP and unix socket at once; the app kind is named", async () => {
    const sock = join(dir, "two.sock");
    const s = await startTsgi(["examples/async.ts", "--http", "127.0.0.1:0", "--http", sock], 2);
    assert.match(s.proc.output(), /^tsgi: serving examples\/async\.ts \(async app\) on http:\/\/127\.0\.0\.1:\d+$/m);
    assert.ok(s.urls.includes(`http://unix:${sock}`), s.proc.output());
    const a = await get(urlOf(s.urls[0]), "GET /tcp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const b = await get({ path: sock }, "POST /unix HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
    assert.equal(a.body.toString(), "Hello from an async tsgi app! You asked for /tcp\n");
    assert.equal(b.body.toString(), "Hello from an async tsgi app! You asked for /unix and sent 3 bytes\n");
    await s.proc.stop();
  });
  test("a fetch handler is served as is", async () => {
    const s = await startTsgi(["examples/fetch.ts", "--http", "127.0.0.1:0"]);
    const r = await get(urlOf(s.urls[0]), "POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd");
    assert.deepEqual(JSON.parse(r.body.toString()), { path: "/f", received: 4 });
    await s.proc.stop();
  });
});

describe("tsgi serve: options", () => {
  test("--access-log: one combined-format line per request on stdout", async () => {
    const s = await startTsgi([BATTERY_APP, "--http", "127.0.0.1:0", "--access-log"]);
    await get(urlOf(s.urls[0]), "GET /query?a=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: t\"ua\r\nReferer: http://r/\r\nConnection: close\r\n\r\n");
    const deadline = Date.now() + 5000;
    while (!/GET \/query/.test(s.proc.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // The byte count is "-" where the runtime's server does not report it (Bun.serve).
    assert.match(s.proc.output(), /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/query\?a=1 HTTP\/1\.1" 200 (3|-) "http:\/\/r\/" "t\\"ua" \d+\.\dms$/m);
    await s.proc.stop();
  });

  test("--max-body: a larger body gets 413 and one log line naming the flag; the server keeps serving", async () => {
    const s = await startTsgi([BATTERY_APP, "--http", "127.0.0.1:0", "--max-body", "1k"]);
    const ep = urlOf(s.urls[0]);
    const big = await get(ep, `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\nConnection: close\r\n\r\n${"x".repeat(2048)}`);
    assert.equal(big.status, 413);
    const ok = await get(ep, `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\nConnection: close\r\n\r\n${"y".repeat(1024)}`);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.length, 1024);
    assert.equal(s.proc.output().match(/answered 413/g)?.length, 1, s.proc.output());
    assert.match(s.proc.output(), /exceeds the limit of 1024 bytes/);
    await s.proc.stop();
  });

  test("--certfile/--keyfile: HTTPS, and the app sees tsgi.url_scheme https", async (t) => {
    const key = join(dir, "key.pem");
    const cert = join(dir, "cert.pem");
    const gen = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"], { encoding: "utf8" });
    if (gen.error) return t.skip("openssl not installed");
    const s = await startTsgi([BATTERY_APP, "--http", "127.0.0.1:0", "--certfile", cert, "--keyfile", key]);
    assert.match(s.urls[0], /^https:\/\/127\.0\.0\.1:\d+$/);
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(`${s.urls[0]}/env/tls`, { rejectUnauthorized: false }, (res) => {
        let b = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (b += d));
        res.on("end", () => resolve(b));
      });
      req.on("error", reject);
      req.end();
    });
    const env = JSON.parse(body) as Record<string, unknown>;
    assert.equal(env["tsgi.url_scheme"], "https");
    assert.equal(env.PATH_INFO, "/env/tls");
    await s.proc.stop();
  });

  test("SIGTERM: stop accepting, finish the in-flight request, exit 0", async () => {
    const s = await startTsgi([BATTERY_APP, "--http", "127.0.0.1:0"]);
    const ep = urlOf(s.urls[0]);
    const c = await Connection.open(ep);
    await c.write("GET /stream/6/150 HTTP/1.1\r\nHost: x\r\n\r\n"); // ~750 ms of streaming
    assert.ok(await c.waitBytes(1, 5000));
    const exited = new Promise<number | null>((r) => s.proc.child.once("exit", (code) => r(code)));
    process.kill(s.proc.child.pid!, "SIGTERM");
    const res = await c.readResponse();
    assert.equal(res.body.toString(), "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\nchunk 5\n");
    assert.ok(res.complete);
    assert.ok(await c.waitClosed(2000), "the server closes the connection once its request is done");
    assert.equal(await exited, 0);
    await assert.rejects(Connection.open(ep), "nothing listens after the stop");
    c.destroy();
  });

  test("SIGTERM with --graceful-timeout 1: a request still running after 1 s is cut", async () => {
    const s = await startTsgi([BATTERY_APP, "--http", "127.0.0.1:0", "--graceful-timeout", "1"]);
    const c = await Connection.open(urlOf(s.urls[0]));
    await c.write("GET /close/slow/grace HTTP/1.1\r\nHost: x\r\n\r\n"); // 10 s of streaming
    assert.ok(await c.waitBytes(1, 5000));
    const t0 = Date.now();
    const exited = new Promise<number | null>((r) => s.proc.child.once("exit", (code) => r(code)));
    process.kill(s.proc.child.pid!, "SIGTERM");
    const res = await c.readResponse();
    assert.equal(res.complete, false, "cut short");
    assert.equal(await exited, 0);
    const took = Date.now() - t0;
    assert.ok(took >= 900 && took < 5000, `exited after ${took} ms`);
    c.destroy();
  });
});

describe("tsgi serve --timeout: a client silent in the middle of its request is cut", () => {
  const rt = runtime();
  /**
   * Milliseconds until the server closes a connection whose request body stopped after 3 of 10
   * bytes, or null if it was still open after `waitMs` (told by waitClosed itself: a timer can
   * fire a millisecond early by Date.now()).
   */
  async function silentFor(ep: { host: string; port: number }, waitMs: number): Promise<number | null> {
    const c = await Connection.open(ep);
    try {
      await c.write("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
      const t0 = Date.now();
      const closed = await c.waitClosed(waitMs);
      return closed ? Date.now() - t0 : null;
    } finally {
      c.destroy();
    }
  }

  if (rt === "deno") {
    // Deno.serve has nothing to set (denoland/deno#3515): saying so beats a limit that is not there.
    test("Deno: refused in one line that says why and what to do instead", () =>
      failsWith(["serve", "examples/hello.ts", "--http", "127.0.0.1:0", "--timeout", "2"], 1, /--timeout 2: Deno\.serve has no read or idle timeout to set \(denoland\/deno#3515\).*drop --timeout.*run tsgi under Node or Bun$/));
    test("Deno: --timeout 0 (no limit) is what Deno.serve does anyway, and is taken", async () => {
      const s = await startTsgi([BATTERY_APP, "--http", "127.0.0.1:0", "--timeout", "0"]);
      await s.proc.stop();
    });
    return;
  }

  test("--timeout 2 cuts it after about 2 s; without the flag it is still open after 3 s", async () => {
    const cut = await startTsgi([BATTERY_APP, "--http", "127.0.0.1:0", "--timeout", "2"]);
    const plain = await startTsgi([BATTERY_APP, "--http", "127.0.0.1:0"]);
    const [withFlag, without] = await Promise.all([silentFor(urlOf(cut.urls[0]), 8000), silentFor(urlOf(plain.urls[0]), 3000)]);
    // Bun checks its idle timers about once a second: 2 s means 2-3 s there.
    assert.ok(withFlag !== null && withFlag >= 1500 && withFlag < 4500, `--timeout 2 closed it after ${withFlag ?? "more than 8000"} ms`);
    assert.equal(without, null, `without --timeout it was closed after ${without} ms`);
    await Promise.all([cut.proc.stop(), plain.proc.stop()]);
  });

  if (rt === "bun") {
    test("Bun: above 255 s is refused in one line (Bun.serve's idle timeout stops there)", () =>
      failsWith(["serve", "examples/hello.ts", "--http", "127.0.0.1:0", "--timeout", "300"], 1, /--timeout 300: Bun\.serve closes silent connections after at most 255 s; give 255 or less \(0: never\)$/));
  }
});
