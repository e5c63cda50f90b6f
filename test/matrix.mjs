#!/usr/bin/env node
// `npm run matrix`: the conformance battery for every adapter on every runtime. Each cell reruns
// one compiled test file that drives the battery (or the Hono checks) through a real server,
// with TSGI_RUNTIME naming the runtime that runs tsgi (test/support/runtime.ts), and the table
// that README shows is printed at the end: pass, FAIL (with the failing cases) or "pass, N
// skipped" (each skip carries its reason, printed under the table).
//
//   node test/matrix.mjs                 every cell (needs `npm run build` first; builds if dist/ is missing)
//   node test/matrix.mjs bun cgi         only cells whose runtime or adapter is named
//   node test/matrix.mjs --markdown      the table alone, for README
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const RUNTIMES = ["node", "bun", "deno"];

/**
 * Adapter → the test file per runtime that runs the battery through it. The http row is a
 * different server per runtime: node:http on Node, Bun.serve on Bun, Deno.serve on Deno (what
 * `tsgi serve --http` picks).
 */
const CELLS = {
  "http (node:http / Bun.serve / Deno.serve)": {
    node: "dist/test/node/battery-inprocess.test.js",
    bun: "dist/test/runtimes/battery.test.js",
    deno: "dist/test/runtimes/battery.test.js",
  },
  "cgi (cgi-run under lighttpd)": "dist/test/cgi/lighttpd.test.js",
  "fastcgi (behind nginx)": "dist/test/fastcgi/nginx.test.js",
  "uwsgi (behind nginx)": "dist/test/uwsgi/nginx.test.js",
  "hono app (tsgi serve, nginx FastCGI/uwsgi)": "dist/test/hono/carriers.test.js",
};

const args = process.argv.slice(2);
const markdownOnly = args.includes("--markdown");
const filters = args.filter((a) => !a.startsWith("--"));
const picked = (adapter, rt) => filters.length === 0 || filters.some((f) => rt === f || adapter.toLowerCase().startsWith(f));

if (!existsSync(join(root, "dist/test"))) {
  const r = spawnSync("npx", ["tsc", "-p", "."], { cwd: root, stdio: "inherit" });
  if (!existsSync(join(root, "dist/test"))) process.exit(r.status ?? 1);
}

/** Run one test file under TSGI_RUNTIME=rt; resolve with counts, failing and skipped test names. */
function runCell(file, rt) {
  return new Promise((resolve) => {
    const env = { ...process.env, TSGI_RUNTIME: rt };
    delete env.NODE_EXTRA_CA_CERTS;
    const t0 = Date.now();
    const child = spawn(process.execPath, ["--test", "--test-reporter=tap", file], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => {
      const count = (name) => Number((new RegExp(`^# ${name} (\\d+)`, "m").exec(out) ?? [])[1] ?? 0);
      const failed = [...out.matchAll(/^\s*not ok \d+ - (.*)$/gm)].map((m) => m[1]);
      const skipped = [...out.matchAll(/^\s*ok \d+ - (.*?) # SKIP (.*)$/gm)].map((m) => `${m[1]}: ${m[2]}`);
      resolve({ code, pass: count("pass"), fail: count("fail"), skip: count("skipped"), failed, skipped, secs: (Date.now() - t0) / 1000, out });
    });
  });
}

const jobs = [];
for (const [adapter, spec] of Object.entries(CELLS)) {
  for (const rt of RUNTIMES) {
    if (!picked(adapter, rt)) continue;
    const file = typeof spec === "string" ? spec : spec[rt];
    jobs.push({ adapter, rt, file });
  }
}

// Two cells at a time: each brings its own servers on free ports, and the box has 2 cores.
const results = new Map();
let next = 0;
async function worker() {
  while (next < jobs.length) {
    const job = jobs[next++];
    if (!existsSync(join(root, job.file))) {
      results.set(`${job.adapter}|${job.rt}`, { missing: true, file: job.file });
      continue;
    }
    const r = await runCell(job.file, job.rt);
    results.set(`${job.adapter}|${job.rt}`, r);
    if (!markdownOnly) console.error(`matrix: ${job.adapter} × ${job.rt}: ${cellText(r)} (${r.secs.toFixed(0)} s)`);
  }
}
await Promise.all([worker(), worker()]);

function cellText(r) {
  if (r === undefined) return "—";
  if (r.missing) return `no test (${r.file})`;
  if (r.fail > 0 || r.code !== 0) return `FAIL (${Math.max(r.fail, r.failed.length)} not ok, ${r.pass} ok)`;
  return r.skip > 0 ? `pass (${r.pass}; ${r.skip} skipped)` : `pass (${r.pass})`;
}

const rows = [`| adapter | ${RUNTIMES.join(" | ")} |`, `|---|${RUNTIMES.map(() => "---").join("|")}|`];
for (const adapter of Object.keys(CELLS)) {
  rows.push(`| ${adapter} | ${RUNTIMES.map((rt) => cellText(results.get(`${adapter}|${rt}`))).join(" | ")} |`);
}
console.log(rows.join("\n"));
if (markdownOnly) process.exit([...results.values()].some((r) => !r.missing && (r.fail > 0 || r.code !== 0)) ? 1 : 0);

let bad = false;
for (const [key, r] of results) {
  const [adapter, rt] = key.split("|");
  if (r.missing) {
    bad = true;
    console.log(`\n${adapter} × ${rt}: ${r.file} is missing (npm run build)`);
    continue;
  }
  if (r.fail > 0 || r.code !== 0) {
    bad = true;
    console.log(`\n${adapter} × ${rt}: FAILED`);
    for (const f of r.failed) console.log(`  not ok: ${f}`);
    if (r.failed.length === 0) console.log(r.out.split("\n").slice(-40).join("\n"));
  }
  const own = r.skipped.filter((s) => !/not in `only`/.test(s));
  if (own.length > 0) {
    console.log(`\n${adapter} × ${rt}: skipped, with reasons:`);
    for (const s of [...new Set(own)]) console.log(`  - ${s}`);
  }
}
process.exit(bad ? 1 : 0);
