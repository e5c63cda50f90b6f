/**
 * A server out of file descriptors (a flood of idle connections, under a low `ulimit -n`) must
 * come back once they are free, on every runtime and listener. Node's libuv and Bun ride it out
 * on their own but silently, so tsgi counts its descriptors and says when they ran out and when
 * there are enough again (src/open-files.ts); Deno.serve's accept loop ends on the first EMFILE (and, unhandled, took the
 * process with it), so tsgi's Deno listener serves again on the same address with one log line
 * (adapters/deno/relisten.ts). Deno's node:net, which the FastCGI and uwsgi listeners use
 * there, stops accepting for good and tells nobody: those two cells check that this is still
 * so (docs/runtimes.md says it), and fail once a Deno release fixes it.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, describe, test } from "node:test";
import { freePort, start, stopAll, waitForPort } from "../support/process.ts";
import { ROOT, tsgiCommand, type Runtime } from "../support/runtime.ts";
import { Connection } from "../../src/testing/index.ts";
import { once as fastcgiOnce, cgi, parseCgi } from "../fastcgi/client.ts";
import { nginxVars, request as uwsgiRequest } from "../uwsgi/client.ts";

const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
const APP = "examples/hello.ts";
const HELLO = "Hello from tsgi! You asked for /x\n";
/** Low enough that the flood below exhausts it on every runtime, high enough for each to start. */
const LIMIT = 64;
const FLOOD = 3 * LIMIT;
type Protocol = "http" | "fastcgi" | "uwsgi";

after(stopAll);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One GET /x through the listener; the body, or an error. */
async function hello(protocol: Protocol, port: number): Promise<string> {
  const at = { host: "127.0.0.1", port };
  if (protocol === "fastcgi") {
    const r = await fastcgiOnce(at, cgi("/x"));
    if (r.end === undefined) throw new Error("no END_REQUEST");
    return parseCgi(r.stdout).body.toString();
  }
  if (protocol === "uwsgi") {
    const r = await uwsgiRequest(at, nginxVars("GET", "/x"), undefined, { timeoutMs: 2000 });
    return r.body.toString();
  }
  const c = await Connection.open(at, 2000);
  try {
    await c.write("GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    const r = await c.readResponse({ timeoutMs: 2000 });
    if (r.status !== 200) throw new Error(`status ${r.status}`);
    return r.body.toString();
  } finally {
    c.destroy();
  }
}

/** Open `n` connections and hold them (those the server resets or never takes are fine). */
async function flood(port: number, n: number): Promise<Socket[]> {
  const held: Socket[] = [];
  await Promise.all(Array.from({ length: n }, () => new Promise<void>((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.on("error", () => {});
    s.once("connect", () => resolve());
    s.once("close", () => resolve());
    held.push(s);
  })));
  return held;
}

/** Ask until an answer comes or `ms` pass. */
async function helloWithin(protocol: Protocol, port: number, ms: number): Promise<string | Error> {
  const deadline = Date.now() + ms;
  let last: Error = new Error("never asked");
  while (Date.now() < deadline) {
    try {
      return await hello(protocol, port);
    } catch (err) {
      last = err as Error;
      await sleep(100);
    }
  }
  return last;
}

for (const rt of ["node", "bun", "deno"] as const satisfies readonly Runtime[]) {
  describe(`out of file descriptors on ${rt} (ulimit -n ${LIMIT}, ${FLOOD} idle connections)`, () => {
    for (const protocol of ["http", "fastcgi", "uwsgi"] as const) {
      const denoNodeNet = rt === "deno" && protocol !== "http";
      const title = denoNodeNet
        ? `--${protocol}: Deno's node:net still stops accepting for good (a Deno bug; docs/runtimes.md)`
        : `--${protocol}: the listener serves again once the connections are gone, and the process lives`;
      test(title, async () => {
        const port = await freePort();
        const [cmd, args] = tsgiCommand(["serve", APP, `--${protocol}`, `127.0.0.1:${port}`], rt);
        const s = start("prlimit", [`--nofile=${LIMIT}`, cmd, ...args], { cwd: ROOT, env });
        try {
          await waitForPort({ port }, 20_000);
          for (let i = 0; i < 200 && !s.output().includes(`on ${protocol}://`); i++) await sleep(25);
          assert.equal(await hello(protocol, port), HELLO, "served before the flood");

          const held = await flood(port, FLOOD);
          // Held until tsgi's once-a-second count of descriptors (src/open-files.ts) has seen
          // them (Bun takes most of a second to accept them all), at most 5 s. Deno's HTTP
          // listener says so itself (adapters/deno/relisten.ts).
          if (rt === "deno" && protocol === "http") await sleep(500);
          else for (let i = 0; i < 100 && !s.output().includes("out of file descriptors"); i++) await sleep(50);
          for (const c of held) c.destroy();

          const after = await helloWithin(protocol, port, denoNodeNet ? 3000 : 10_000);
          if (denoNodeNet) {
            assert.ok(after instanceof Error, `Deno's node:net accepted again after EMFILE (got ${JSON.stringify(after)}): Deno fixed it; make this cell expect recovery and update docs/runtimes.md`);
            // The operator is told, at least (src/open-files.ts).
            assert.match(s.output(), /^tsgi: out of file descriptors \(64 open, the process's limit\)/m, s.output());
            return;
          }
          assert.equal(after, HELLO, `served after the flood: ${after instanceof Error ? after.message : ""}\n${s.output()}`);
          assert.equal(s.child.exitCode, null, `the server is still running:\n${s.output()}`);

          const lines = s.output().trimEnd().split("\n").filter((l) => !l.startsWith("tsgi: serving "));
          if (rt === "deno" && protocol === "http") {
            assert.ok(lines.length >= 1, "Deno: a line says what happened");
            for (const l of lines) {
              assert.match(l, new RegExp(`^tsgi: http://127\\.0\\.0\\.1:${port}: accepting connections failed: .*Too many open files \\(os error 24\\): the process is out of file descriptors \\(its limit is ${LIMIT}\\); raise it \\(ulimit -n, LimitNOFILE=\\) or lower the connections the server holds; listening again$`));
            }
          } else {
            // Node's libuv and Bun shed what they cannot accept without telling the program: tsgi's
            // count of descriptors says when they ran out, and when there are enough again.
            for (let i = 0; i < 60 && !s.output().includes("connections are accepted again"); i++) await sleep(50);
            const shown = s.output().trimEnd().split("\n").filter((l) => !l.startsWith("tsgi: serving "));
            assert.equal(shown.length, 2, `two lines from tsgi:\n${s.output()}`);
            assert.match(shown[0], new RegExp(`^tsgi: out of file descriptors \\(${LIMIT} open, the process's limit\\): new connections are closed unanswered or left waiting until some are free; raise the limit \\(ulimit -n, LimitNOFILE=\\) or lower the connections the server holds$`));
            assert.match(shown[1], new RegExp(`^tsgi: file descriptors: \\d+ of ${LIMIT} open; connections are accepted again$`));
          }
          await s.stop("SIGTERM");
          assert.equal(s.child.exitCode, 0, s.output());
        } finally {
          await s.stop("SIGKILL");
        }
      });
    }
  });
}
