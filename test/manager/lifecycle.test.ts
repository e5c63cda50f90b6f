/**
 * `tsgi serve --workers N` as an operator drives it: workers answering, SIGHUP reload with no
 * request refused, a failed reload, TTIN/TTOU, SIGTERM drain, SIGQUIT, a killed master; and
 * after each stop, nothing left in tsgi's process group. Real processes, stopped by PID.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { Connection } from "../../src/testing/index.ts";
import { startTsgi } from "../battery/serve.ts";
import { requirePeer, stopAll } from "../support/process.ts";
import { BUN_SKIP, dir, env, fixture, get, groupEmpty, PID_APP, sleep, startManaged, versionApp, waitFor, workerPids } from "./helpers.ts";

after(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("tsgi serve --workers", { skip: BUN_SKIP }, () => {
  test("--workers 2: two worker processes answer, neither of them the master", async () => {
    const s = await startManaged(PID_APP, ["--workers", "2"]);
    const workers = workerPids(s);
    assert.equal(workers.length, 2, s.proc.output());
    assert.ok(!workers.includes(s.pid));
    const seen = new Set<number>();
    for (let i = 0; i < 200 && seen.size < 2; i++) seen.add(Number((await get(s.port)).body));
    assert.deepEqual([...seen].sort(), [...workers].sort(), "every answer comes from a worker, and both answer");
    process.kill(s.pid, "SIGTERM");
    assert.equal(await s.exited, 0);
    assert.deepEqual(await groupEmpty(s.pid), [], "no process left in the group");
  });

  test("SIGHUP: new workers run the changed app file, and no request fails during the reload", async () => {
    const app = versionApp("reload.mjs", "v1");
    const s = await startManaged(app, ["--workers", "2"]);
    const old = workerPids(s);
    assert.match((await get(s.port)).body, /^v1 \d+$/);

    // Two clients loop over fresh connections across the whole reload.
    let running = true;
    const failures: string[] = [];
    const bodies: string[] = [];
    const client = async () => {
      for (let i = 0; running && i < 5000; i++) {
        try {
          const r = await get(s.port);
          if (r.status !== 200) failures.push(`status ${r.status}`);
          bodies.push(r.body);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const clients = [client(), client()];
    await sleep(100);
    writeFileSync(app, readFileSync(app, "utf8").replace('"v1 "', '"v2 "'));
    const mark = s.proc.output().length;
    process.kill(s.pid, "SIGHUP");
    await waitFor(s, /reload done/, 10_000, mark);
    for (const pid of old) await waitFor(s, new RegExp(`worker ${pid} exited \\(code 0\\)`), 10_000, mark);
    await sleep(200);
    running = false;
    await Promise.all(clients);

    assert.deepEqual(failures, [], "no request refused or failed");
    assert.ok(bodies.some((b) => b.startsWith("v1 ")) && bodies.some((b) => b.startsWith("v2 ")), "served before and after");
    const after = await get(s.port);
    assert.match(after.body, /^v2 \d+$/);
    assert.ok(!old.includes(Number(after.body.split(" ")[1])), "by a new worker");
    process.kill(s.pid, "SIGTERM");
    assert.equal(await s.exited, 0);
    assert.deepEqual(await groupEmpty(s.pid), []);
  });

  test("SIGHUP with a broken app file: one line says the reload failed, the old workers keep serving", async () => {
    const app = versionApp("broken-reload.mjs", "v1");
    const s = await startManaged(app, ["--workers", "2"]);
    const old = workerPids(s);
    writeFileSync(app, "export default function app(environ, startResponse) {\n  return [\n");
    const mark = s.proc.output().length;
    process.kill(s.pid, "SIGHUP");
    const m = await waitFor(s, /^tsgi: reload failed: .*$/m, 10_000, mark);
    assert.match(m[0], /the old workers keep serving/);
    for (let i = 0; i < 20; i++) {
      const r = await get(s.port);
      assert.equal(r.status, 200);
      assert.ok(old.includes(Number(r.body.split(" ")[1])), `answered by an old worker: ${r.body}`);
    }
    process.kill(s.pid, "SIGTERM");
    assert.equal(await s.exited, 0);
    assert.deepEqual(await groupEmpty(s.pid), []);
  });

  test("SIGTTIN adds a worker, SIGTTOU removes one (never the last)", async () => {
    const s = await startManaged(PID_APP, ["--workers", "1"]);
    let mark = s.proc.output().length;
    process.kill(s.pid, "SIGTTIN");
    await waitFor(s, /SIGTTIN: 2 workers\n(.|\n)*worker \d+ booted/, 10_000, mark);
    mark = s.proc.output().length;
    process.kill(s.pid, "SIGTTOU");
    await waitFor(s, /SIGTTOU: 1 worker\n(.|\n)*worker \d+ exited \(code 0\)/, 10_000, mark);
    mark = s.proc.output().length;
    process.kill(s.pid, "SIGTTOU");
    await waitFor(s, /SIGTTOU: already down to 1 worker/, 10_000, mark);
    assert.equal((await get(s.port)).status, 200);
    process.kill(s.pid, "SIGTERM");
    assert.equal(await s.exited, 0);
    assert.deepEqual(await groupEmpty(s.pid), []);
  });

  test("SIGTERM: workers finish the request in flight, the master exits 0, nothing is left", async () => {
    const s = await startManaged(PID_APP, ["--workers", "2"]);
    const slow = get(s.port, "/slow");
    await sleep(200);
    process.kill(s.pid, "SIGTERM");
    const r = await slow;
    assert.equal(r.status, 200);
    assert.ok(workerPids(s).includes(Number(r.body)));
    assert.equal(await s.exited, 0);
    await assert.rejects(get(s.port), "nothing listens after the stop");
    assert.match(s.proc.output(), /SIGTERM: graceful stop/);
    assert.deepEqual(await groupEmpty(s.pid), []);
  });

  test("SIGQUIT: immediate stop, the request in flight is cut", async () => {
    const s = await startManaged(PID_APP, ["--workers", "2"]);
    const slow = get(s.port, "/slow").then(() => "answered", (err: Error) => `cut: ${err.message}`);
    await sleep(200);
    const t0 = Date.now();
    process.kill(s.pid, "SIGQUIT");
    assert.equal(await s.exited, 0);
    assert.ok(Date.now() - t0 < 600, "before the slow request could finish");
    assert.match(await slow, /^cut/);
    assert.deepEqual(await groupEmpty(s.pid), []);
  });

  test("a master killed with SIGKILL leaves no worker behind", async () => {
    const s = await startManaged(PID_APP, ["--workers", "2"]);
    const workers = workerPids(s);
    process.kill(s.pid, "SIGKILL");
    await s.exited;
    assert.deepEqual(await groupEmpty(s.pid), [], `workers ${workers.join(", ")} stop once the master is gone`);
  });

  test("unix socket listeners (HTTP, FastCGI, uwsgi): served across a reload; the socket files are removed at the stop", async () => {
    const socks = { http: `${dir}/http.sock`, fastcgi: `${dir}/fcgi.sock`, uwsgi: `${dir}/uwsgi.sock` };
    const app = fixture("unix.mjs", "export default (request) => new Response(String(process.pid));\n");
    const s = await startTsgi([app, "--http", socks.http, "--fastcgi", socks.fastcgi, "--uwsgi", socks.uwsgi, "--workers", "2"], 3, { env: env() });
    await waitFor(s, /workers serving \(pids/);
    const mark = s.proc.output().length;
    process.kill(s.proc.child.pid!, "SIGHUP");
    await waitFor(s, /reload done(.|\n)*exited(.|\n)*exited/, 10_000, mark);
    for (const path of Object.values(socks)) assert.ok(existsSync(path), `the old workers' stop leaves ${path} to the new ones`);
    const c = await Connection.open({ path: socks.http });
    await c.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const res = await c.readResponse();
    c.destroy();
    assert.equal(res.status, 200);
    const cgiFcgi = requirePeer("cgi-fcgi", "libfcgi-bin");
    if (cgiFcgi !== null) {
      const r = spawnSync(cgiFcgi, ["-bind", "-connect", socks.fastcgi], { encoding: "utf8", timeout: 10_000, env: { REQUEST_METHOD: "GET", SCRIPT_NAME: "", PATH_INFO: "/", SERVER_NAME: "x", SERVER_PORT: "80", SERVER_PROTOCOL: "HTTP/1.1" } });
      assert.match(r.stdout, /^Status: 200 OK\r\n[^]*\r\n\r\n\d+$/, r.stdout + r.stderr);
      assert.ok(!workerPids(s).includes(Number(r.stdout.split("\r\n\r\n")[1])), "a new worker answers FastCGI");
    }
    const exited = new Promise((r) => s.proc.child.once("exit", r));
    process.kill(s.proc.child.pid!, "SIGTERM");
    await exited;
    for (const path of Object.values(socks)) assert.ok(!existsSync(path), `${path} removed at the stop`);
  });
});
