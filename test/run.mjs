#!/usr/bin/env node
// The test command behind `npm test`: every compiled test file under dist/test on Node, then the
// core's tests on Deno and Bun (installed from npm as devDependencies) and the CLI's tests with
// tsgi running on each of them. `unit` runs only test/core.
// Ends with one line "tests: N passed, N failed" summing all three runtimes.
import { spawn } from "node:child_process";
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

let failedRuns = 0;
const totals = { passed: 0, failed: 0 };
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");

/** Run a test command, echoing its output, and add its pass/fail counts to the totals. */
function run(label, cmd, args, count, extraEnv = {}) {
  console.log(`\n== ${label}: ${cmd.split("/").pop()} ${args.length > 6 ? args.slice(0, 3).join(" ") + ` … (${args.length} args)` : args.join(" ")}`);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", ...extraEnv }, stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.on("data", (d) => { process.stdout.write(d); text += d; });
    child.stderr.on("data", (d) => { process.stderr.write(d); text += d; });
    child.on("close", (code, signal) => {
      const [p, f] = count(strip(text));
      totals.passed += p;
      totals.failed += f;
      if (code !== 0) {
        failedRuns++;
        if (f === 0) totals.failed += 1; // a crash with no failed test still counts as a failure
        console.log(`== ${label}: FAILED (exit ${code ?? signal})`);
      }
      resolve();
    });
  });
}

const num = (text, re) => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);

const nodeTests = files(join(root, "dist/test", mode === "unit" ? "core" : ""), /\.test\.js$/);
await run("node", process.execPath, ["--test", "--test-concurrency=2", ...nodeTests],
  (t) => [num(t, /^# pass (\d+)$/gm), num(t, /^# fail (\d+)$/gm)]);

const bin = (name) => join(root, "node_modules/.bin", name);
const coreTs = files(join(root, "test/core"), /\.test\.ts$/).map((p) => "./" + p.slice(root.length));
const others = [
  ["deno", ["test", "-A", "--no-check", ...coreTs], (t) => { const m = /(\d+) passed.*?(\d+) failed/.exec(t); return m ? [Number(m[1]), Number(m[2])] : [0, 0]; }],
  ["bun", ["test", ...coreTs], (t) => [num(t, /^\s*(\d+) pass$/gm), num(t, /^\s*(\d+) fail$/gm)]],
];
for (const [rt, args, count] of others) {
  try {
    statSync(bin(rt));
  } catch {
    if (ci) { failedRuns++; totals.failed++; console.log(`== ${rt}: missing (npm install installs it); a failure under CI`); }
    else console.log(`== ${rt}: not installed, core tests skipped on ${rt}`);
    continue;
  }
  await run(rt, bin(rt), args, count);
  // `tsgi serve` as a user meets it (errors, startup lines, stop) on this runtime too; the
  // listeners' battery on Bun and Deno is `npm run matrix`.
  if (mode !== "unit") {
    await run(`cli on ${rt}`, process.execPath, ["--test", join(root, "dist/test/node/cli.test.js")],
      (t) => [num(t, /^# pass (\d+)$/gm), num(t, /^# fail (\d+)$/gm)], { TSGI_RUNTIME: rt });
  }
}
console.log(`\ntests: ${totals.passed} passed, ${totals.failed} failed`);
process.exit(failedRuns > 0 ? 1 : 0);
