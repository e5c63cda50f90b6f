/**
 * Where `tsgi serve` cannot listen, every listener (http, fastcgi, uwsgi) on every runtime
 * (Node, Bun, Deno) says the same thing in one line and exits 1 (src/bind.ts); a socket file
 * left by a killed server is replaced, also under `--workers`, and the new server's own file
 * goes when it stops.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Connection } from "../../src/testing/index.ts";
import { start, stopAll, waitForPort } from "../support/process.ts";
import { ROOT, tsgiCommand, type Runtime } from "../support/runtime.ts";

const dir = mkdtempSync(join(tmpdir(), "tsgi-bind-"));
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
const APP = "examples/hello.ts";
const PROTOCOLS = ["http", "fastcgi", "uwsgi"] as const;

let liveSocket: Server;
let busyPort: Server;
const livePath = join(dir, "live.sock");
let port = 0;

before(async () => {
  liveSocket = createServer((c) => c.destroy());
  await new Promise<void>((r) => liveSocket.listen(livePath, r));
  busyPort = createServer((c) => c.destroy());
  await new Promise<void>((r) => busyPort.listen(0, "127.0.0.1", r));
  port = (busyPort.address() as { port: number }).port;
});

after(async () => {
  await stopAll();
  liveSocket.close();
  busyPort.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `tsgi serve APP --PROTOCOL ADDR` on `rt` must exit 1 with exactly `line` on stderr. */
function refused(rt: Runtime, protocol: string, addr: string, line: string): void {
  const [cmd, args] = tsgiCommand(["serve", APP, `--${protocol}`, addr], rt);
  // spawnSync blocks this process's loop; the kernel still accepts connects on our listeners.
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", timeout: 30_000, env });
  const lines = r.stderr.trimEnd().split("\n").filter((l) => !/^(Warning|Check file|Download)/.test(l));
  assert.deepEqual(lines, [line], `stderr of ${rt} tsgi serve --${protocol} ${addr}`);
  assert.equal(r.status, 1, `exit status on ${rt}`);
}

/** A unix socket file whose server is gone: a node process listens on it, then is SIGKILLed. */
function staleSocket(path: string): void {
  spawnSync(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"))`], { env });
  assert.ok(existsSync(path), "the stale socket file is there");
}

for (const rt of ["node", "bun", "deno"] as const) {
  describe(`listen errors and stale sockets on ${rt}`, () => {
    for (const protocol of PROTOCOLS) {
      test(`--${protocol}: a port in use, a live socket, a file in the way, a missing folder`, () => {
        refused(rt, protocol, `127.0.0.1:${port}`, `tsgi: error: cannot listen on ${protocol}://127.0.0.1:${port}: the address is already in use (another server runs there?)`);
        refused(rt, protocol, livePath, `tsgi: error: cannot listen on ${protocol}://unix:${livePath}: another server is listening on this socket (stop it, or give another path)`);
        const file = join(dir, `${rt}-${protocol}.file`);
        writeFileSync(file, "keep");
        refused(rt, protocol, file, `tsgi: error: cannot listen on ${protocol}://unix:${file}: the path exists and is not a socket (move the file away, or give another path)`);
        assert.equal(readFileSync(file, "utf8"), "keep", "the file in the way is left alone");
        const nowhere = join(dir, "no-such-folder", "app.sock");
        refused(rt, protocol, nowhere, `tsgi: error: cannot listen on ${protocol}://unix:${nowhere}: the socket's folder does not exist`);
      });

      test(`--${protocol}: a live server too busy to accept (backlog full) keeps its socket`, async () => {
        const path = join(dir, `${rt}-${protocol}-busy.sock`);
        // A listener that never accepts, with its backlog filled: connecting now fails with
        // EAGAIN, which must not pass for "nobody there".
        const busy = start("python3", ["-c", [
          "import socket, sys, time",
          "s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(0)",
          "held = []",
          "for _ in range(4):",
          "    c = socket.socket(socket.AF_UNIX); c.setblocking(False)",
          "    try: c.connect(sys.argv[1]); held.append(c)",
          "    except BlockingIOError: pass",
          "print('full', flush=True)",
          "time.sleep(60)",
        ].join("\n"), path]);
        try {
          for (let i = 0; i < 200 && !busy.output().includes("full"); i++) await new Promise((r) => setTimeout(r, 25));
          assert.ok(busy.output().includes("full"), busy.output());
          refused(rt, protocol, path, `tsgi: error: cannot listen on ${protocol}://unix:${path}: another server is listening on this socket (stop it, or give another path)`);
          assert.ok(existsSync(path), "the busy server's socket is still there");
        } finally {
          await busy.stop("SIGKILL");
        }
      });

      test(`--${protocol}: a stale socket file is replaced, and the server's own removed when it stops`, async () => {
        const path = join(dir, `${rt}-${protocol}.sock`);
        staleSocket(path);
        const [cmd, args] = tsgiCommand(["serve", APP, `--${protocol}`, path], rt);
        const s = start(cmd, args, { cwd: ROOT, env });
        // The old file refuses connections; one that accepts is the new server's.
        await waitForPort({ path }, 20_000);
        if (protocol === "http") {
          const c = await Connection.open({ path });
          try {
            await c.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            assert.equal((await c.readResponse()).status, 200);
          } finally {
            c.destroy();
          }
        }
        // The startup line comes once every listener is up: a moment after the socket accepts.
        const line = `on ${protocol}://unix:${path}\n`;
        for (let i = 0; i < 200 && !s.output().includes(line); i++) await new Promise((r) => setTimeout(r, 25));
        assert.ok(s.output().includes(line), `the startup line names ${path}: ${s.output()}`);
        await s.stop("SIGTERM");
        assert.equal(s.child.exitCode, 0, s.output());
        assert.ok(!existsSync(path), `the socket file is removed on stop:\n${s.output()}`);
      });

      // Bun refuses --workers (its node:cluster cannot share a socket: docs/runtimes.md).
      if (rt !== "bun") {
        test(`--${protocol} --workers 2: the master replaces a stale socket once, and both workers serve`, async () => {
          const path = join(dir, `${rt}-${protocol}-workers.sock`);
          staleSocket(path);
          const [cmd, args] = tsgiCommand(["serve", APP, "--workers", "2", `--${protocol}`, path], rt);
          const s = start(cmd, args, { cwd: ROOT, env });
          // Workers checking on their own raced: one took the socket another had just bound for stale.
          for (let i = 0; i < 400 && !/2 workers serving/.test(s.output()) && s.child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 25));
          assert.match(s.output(), /2 workers serving/);
          assert.doesNotMatch(s.output(), /error/);
          await waitForPort({ path }, 5_000);
          await s.stop("SIGTERM");
          assert.ok(!existsSync(path), `the socket file is removed on stop:\n${s.output()}`);
        });
      }
    }
  });
}
