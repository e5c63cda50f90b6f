#!/usr/bin/env node
// The test command behind `npm test`: every compiled test file under dist/test on Node, then the
// core's tests on Deno and Bun (installed from npm as devDependencies). `unit` runs only test/core.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const mode = process.argv[2] ?? "all";
const root = new URL("..", import.meta.url).pathname;
const ci = process.env.CI === "true" || process.env.CI === "1";

function files(dir, re) {
  const out = [];
  let entries = [];
  try { entries = readdirSync(dir); } catch { return out; }
  for (const e of entries.sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...files(p, re));
    else if (re.test(e)) out.push(p);
  }
  return out;
}

const nodeTests = files(join(root, "dist/test", mode === "unit" ? "core" : ""), /\.test\.js$/);
let failed = false;
const run = (label, cmd, args) => {
  console.log(`\n== ${label}: ${cmd} ${args.length > 6 ? args.slice(0, 4).join(" ") + " …" : args.join(" ")}`);
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: root, env: process.env });
  if (r.status !== 0) {
    failed = true;
    console.log(`== ${label}: FAILED (exit ${r.status ?? r.signal})`);
  }
};

// Peer tests each bring their own servers on free ports, so files may run side by side; two at
// a time keeps a 2-core machine responsive.
run("node", process.execPath, ["--test", "--test-concurrency=2", ...nodeTests]);

const bin = (name) => join(root, "node_modules/.bin", name);
const coreTs = files(join(root, "test/core"), /\.test\.ts$/).map((p) => "./" + p.slice(root.length));
for (const [rt, args] of [["deno", ["test", "-A", "--no-check", ...coreTs]], ["bun", ["test", ...coreTs]]]) {
  try {
    statSync(bin(rt));
  } catch {
    if (ci) { failed = true; console.log(`== ${rt}: missing (npm install installs it); failing under CI`); }
    else console.log(`== ${rt}: not installed, core tests skipped on ${rt}`);
    continue;
  }
  run(rt, bin(rt), args);
}
process.exit(failed ? 1 : 0);
