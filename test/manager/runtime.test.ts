/**
 * Where the process manager runs: Node and Deno share the master's sockets through node:cluster
 * (the other test files run there); on Bun, `tsgi serve --workers` refuses with one line.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { ROOT, runtime, tsgiCommand } from "../support/runtime.ts";

function env(): NodeJS.ProcessEnv {
  const e = { ...process.env };
  delete e.NODE_EXTRA_CA_CERTS;
  return e;
}

test("on Bun, --workers and its flags fail with one line and exit 1", { skip: runtime() !== "bun" ? "Node and Deno run the manager" : undefined }, () => {
  for (const flags of [["--workers", "2"], ["--max-requests", "100"]]) {
    const [cmd, argv] = tsgiCommand(["serve", "examples/hello.ts", "--http", "127.0.0.1:0", ...flags]);
    const r = spawnSync(cmd, argv, { cwd: ROOT, encoding: "utf8", timeout: 30_000, env: env() });
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(r.stderr.trimEnd().split("\n"), [
      "tsgi: error: --workers (the process manager) is not supported on Bun: its node:cluster cannot share a listening socket between worker processes (each binds its own); use Node or Deno for the process manager, or one tsgi per port behind a proxy",
    ]);
  }
});
