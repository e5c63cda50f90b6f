/**
 * What the master does when workers misbehave: a blocked event loop (--worker-timeout), a request
 * budget spent (--max-requests), a crash, a crash loop, an app that cannot load; and what bad
 * manager flags get. Real processes, stopped by PID; nothing left in the process group.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { after, describe, test } from "node:test";
import { stopAll } from "../support/process.ts";
import { ROOT, tsgiCommand } from "../support/runtime.ts";
import { BUN_SKIP, dir, env, fixture, get, groupEmpty, PID_APP, sleep, startManaged, versionApp, waitFor, workerPids } from "./helpers.ts";

after(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Run `tsgi serve ARGS` to its end (bounded). */
function tsgi(args: string[]) {
  const [cmd, argv] = tsgiCommand(["serve", ...args]);
  return spawnSync(cmd, argv, { cwd: ROOT, encoding: "utf8", timeout: 30_000, env: env() });
}

const stderrLines = (s: string) => s.trimEnd().split("\n").filter((l) => l !== "" && !/^(Warning|Check file|Download)/.test(l));

describe("tsgi serve --workers: failures", { skip: BUN_SKIP }, () => {
  test("--worker-timeout: a worker whose event loop is blocked is killed with SIGKILL and replaced", async () => {
    const s = await startManaged(PID_APP, ["--workers", "1", "--worker-timeout", "1"]);
    const [pid] = workerPids(s);
    const mark = s.proc.output().length;
    const blocked = get(s.port, "/block", 8000).then(() => "answered", () => "cut");
    const t0 = Date.now();
    const m = await waitFor(s, /^tsgi: worker (\d+) timed out: no heartbeat for [\d.]+ s \(--worker-timeout 1; is its event loop blocked\?\): killing it with SIGKILL( once its replacement serves \(it holds the sockets\))?$/m, 8000, mark);
    assert.equal(Number(m[1]), pid);
    assert.ok(Date.now() - t0 >= 900, "not before the timeout");
    assert.equal(await blocked, "cut");
    await waitFor(s, new RegExp(`worker ${pid} exited \\(signal SIGKILL\\)`), 5000, mark);
    await waitFor(s, /worker \d+ booted/, 10_000, mark);
    const r = await get(s.port);
    assert.equal(r.status, 200);
    assert.notEqual(Number(r.body), pid, "a new worker answers");
    process.kill(s.pid, "SIGTERM");
    assert.equal(await s.exited, 0);
    assert.deepEqual(await groupEmpty(s.pid), []);
  });

  test("--max-requests: a worker is replaced gracefully after its requests, and no request fails", async () => {
    const app = versionApp("recycle.mjs", "v1");
    const s = await startManaged(app, ["--workers", "1", "--max-requests", "5", "--max-requests-jitter", "2"]);
    // A worker over its budget keeps serving until its replacement does: loop until three
    // workers have answered (bounded), every request answered.
    const pids: number[] = [];
    const deadline = Date.now() + 15_000;
    while (new Set(pids).size < 3 && Date.now() < deadline) {
      const r = await get(s.port); // rejects (failing the test) if a request is refused
      assert.equal(r.status, 200);
      pids.push(Number(r.body.split(" ")[1]));
      await sleep(10);
    }
    const distinct = [...new Set(pids)];
    assert.equal(distinct.length, 3, `${pids.length} requests: ${pids.join(" ")}`);
    assert.ok(pids.filter((p) => p === distinct[0]).length >= 5, "the first worker served its budget");
    assert.match(s.proc.output(), /worker \d+ served [5-7] requests \(--max-requests\): starting its replacement, then stopping it gracefully/);
    await waitFor(s, new RegExp(`worker ${distinct[0]} exited \\(code 0\\)`));
    process.kill(s.pid, "SIGTERM");
    assert.equal(await s.exited, 0);
    assert.deepEqual(await groupEmpty(s.pid), []);
  });

  test("a worker that crashes is replaced", async () => {
    const s = await startManaged(PID_APP, ["--workers", "2"]);
    await sleep(1100); // past start-up: a crash, not a failure to boot
    const mark = s.proc.output().length;
    await assert.rejects(get(s.port, "/crash"));
    const m = await waitFor(s, /^tsgi: worker (\d+) died \(exit code 3\); starting another$/m, 5000, mark);
    assert.ok(workerPids(s).includes(Number(m[1])));
    await waitFor(s, /worker \d+ booted/, 10_000, mark);
    const seen = new Set<number>();
    for (let i = 0; i < 200 && seen.size < 2; i++) seen.add(Number((await get(s.port)).body));
    assert.equal(seen.size, 2, "two workers again");
    assert.ok(!seen.has(Number(m[1])));
    process.kill(s.pid, "SIGTERM");
    assert.equal(await s.exited, 0);
    assert.deepEqual(await groupEmpty(s.pid), []);
  });

  test("a crash loop: workers dying at start-up make the master give up with one clear line, exit 1", () => {
    const app = fixture("dies.mjs", "process.exit(3);\nexport default (request) => new Response('never');\n");
    const r = tsgi([app, "--http", "127.0.0.1:0", "--workers", "2"]);
    assert.equal(r.status, 1, r.stderr);
    const lines = stderrLines(r.stderr);
    assert.match(lines.at(-1)!, /^tsgi: error: workers keep dying at start-up \(5 in a row, the last: exit code 3\); giving up$/);
    assert.match(r.stderr, /died at start-up \(exit code 3\); starting another in 0\.1 s/, "with a backoff");
    assert.equal(r.stdout, "", "never announced as serving");
  });

  test("an app that cannot load: exit 1 with the loader's one line, no respawning", () => {
    const r = tsgi(["examples/hello.ts:nope", "--http", "127.0.0.1:0", "--workers", "2"]);
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(stderrLines(r.stderr), ['tsgi: error: app file examples/hello.ts has no export "nope" (its exports: default)']);
  });

  test("--preload: the master loads the app first, so a broken app fails before any fork", () => {
    const r = tsgi(["examples/hello.ts:nope", "--http", "127.0.0.1:0", "--workers", "2", "--preload"]);
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(stderrLines(r.stderr), ['tsgi: error: app file examples/hello.ts has no export "nope" (its exports: default)']);
  });

  test("an address in use: exit 1 with the listener's one line", async () => {
    const s = await startManaged(PID_APP, ["--workers", "1"]);
    const r = tsgi([PID_APP, "--http", `127.0.0.1:${s.port}`, "--workers", "2"]);
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(stderrLines(r.stderr), [`tsgi: error: cannot listen on http://127.0.0.1:${s.port}: the address is already in use (another server runs there?)`]);
    process.kill(s.pid, "SIGTERM");
    assert.equal(await s.exited, 0);
  });

  test("bad manager flags: one line, exit 2", () => {
    for (const [args, re] of [
      [["--workers", "0"], /--workers "0": give a whole number, 1 or more/],
      [["--workers", "two"], /--workers "two": give a whole number/],
      [["--max-requests=-1"], /--max-requests "-1"/],
      [["--max-requests-jitter", "5"], /--max-requests-jitter goes with --max-requests N/],
      [["--worker-timeout", "soon"], /--worker-timeout "soon": give a number of seconds/],
    ] as [string[], RegExp][]) {
      const r = tsgi([PID_APP, ...args]);
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      const lines = stderrLines(r.stderr);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], re);
    }
  });
});
