/**
 * `systemctl stop` (KillMode=control-group) sends SIGTERM to every process of the service at
 * once: the workers stop on their own while the master starts telling them to. A worker that is
 * gone before the master's "stop" message reaches it must not take the master down: the failed
 * write came back as the worker's 'error' event, which nobody listened to (Node: "write EPIPE",
 * Deno: "Uncaught BrokenPipe"), and the master died with exit 1 in about 2 stops of 3.
 *
 * The race is set up: the master is stopped (SIGSTOP), its workers are sent SIGTERM and exit,
 * then the master gets SIGTERM and is continued. Whether it handles the signal before it sees
 * its workers go depends on the order the event loop takes them in: the old master failed about
 * half the rounds (3 of 6, 2 of 6 in two runs), so 5 rounds per runtime.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { start, stopAll } from "../support/process.ts";
import { ROOT, tsgiCommand } from "../support/runtime.ts";
import { env, groupEmpty, sleep } from "./helpers.ts";

after(stopAll);

/** True once `pid` has exited (gone, or a zombie its stopped parent cannot reap yet). */
function exited(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return true;
  try {
    return readFileSync(stat, "latin1").split(") ")[1]?.startsWith("Z") ?? true;
  } catch {
    return true;
  }
}

for (const rt of ["node", "deno"] as const) {
  describe(`tsgi serve --workers 2 on ${rt}: SIGTERM to the whole process group`, () => {
    for (let round = 1; round <= 5; round++) {
      test(`round ${round}: workers gone before the master acts; the master exits 0 with no error`, async () => {
        const [cmd, args] = tsgiCommand(["serve", "examples/hello.ts", "--workers", "2", "--http", "127.0.0.1:0"], rt);
        const s = start(cmd, args, { cwd: ROOT, env: env() });
        const exit = new Promise<number | null>((r) => s.child.once("exit", (code) => r(code)));
        let pids: number[] = [];
        for (let i = 0; i < 600 && pids.length === 0; i++) {
          const m = /workers serving \(pids ([\d, ]+)\)/.exec(s.output());
          if (m) pids = m[1].split(", ").map(Number);
          else await sleep(25);
        }
        assert.equal(pids.length, 2, s.output());
        const master = s.child.pid!;
        process.kill(master, "SIGSTOP");
        for (const w of pids) process.kill(w, "SIGTERM");
        for (let i = 0; i < 200 && !pids.every(exited); i++) await sleep(25);
        assert.ok(pids.every(exited), "the workers stopped on their own SIGTERM");
        process.kill(master, "SIGTERM");
        process.kill(master, "SIGCONT");
        assert.equal(await exit, 0, s.output());
        assert.doesNotMatch(s.output(), /EPIPE|BrokenPipe|Uncaught|Unhandled|\n\s+at /, "no crash, no stack trace");
        assert.match(s.output(), /SIGTERM: graceful stop/);
        assert.deepEqual(await groupEmpty(master), [], "nothing left in the group");
      });
    }
  });
}
