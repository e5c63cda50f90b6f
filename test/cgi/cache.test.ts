/**
 * cgi-run's bundle cache on Node and Bun (Deno runs the TypeScript itself): a warm start
 * loads no transpiler and rewrites nothing, a change rebuilds, racing cold starts all succeed,
 * and a web server user with an unwritable home still gets a (safe) cache.
 */
import assert from "node:assert/strict";
import { readdirSync, writeFileSync, mkdirSync, chmodSync, existsSync, readFileSync, statSync, symlinkSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runtime } from "../support/runtime.ts";
import { FIXTURES, IS_ROOT, makeStage, WEB_USER, type Stage } from "./stage.ts";
import { cgiEnv, runCgiRun, splitResponse } from "./spawn.ts";
import { spawnSync } from "node:child_process";

const deno = runtime() === "deno" ? "Deno runs the TypeScript as is: the cache is Node's and Bun's" : false;
const node = runtime() === "node";

describe("cgi-run cache", { skip: deno }, () => {
  let stage: Stage;
  let hook: string;
  before(() => {
    stage = makeStage();
    // Lists every CommonJS module Node loaded (esbuild's JS API is one) when the process exits.
    hook = join(stage.root, "modules-hook.cjs");
    writeFileSync(hook, `process.on("exit", () => { if (process.env.MODULES_OUT) require("fs").writeFileSync(process.env.MODULES_OUT, Object.keys(require.cache).join("\\n")); });\n`);
    chmodSync(hook, 0o644);
  });
  after(() => stage.remove());

  const runWith = (name: string, env: Record<string, string>, opts: { uid?: number; gid?: number } = {}) =>
    runCgiRun(join(stage.cgiBin, name), { env: { PATH: stage.path, ...cgiEnv(name, "/env"), ...env }, ...opts });

  test("cold start fills the cache; a warm start loads no esbuild, rewrites nothing and gives the same answer", async () => {
    stage.app("warm.ts", join(FIXTURES, "kinds.ts"), "sync");
    const cache = join(stage.root, "cache-warm");
    const out = join(stage.root, "modules.txt");
    // On Node a require hook lists the CommonJS modules loaded (esbuild's JS API is one).
    const env: Record<string, string> = node ? { TSGI_CACHE_DIR: cache, NODE_OPTIONS: `--require ${hook}`, MODULES_OUT: out } : { TSGI_CACHE_DIR: cache };
    const cold = await runWith("warm.ts", env);
    assert.equal(cold.status, 0, cold.stderr);
    if (node) assert.match(readFileSync(out, "utf8"), /esbuild/, "the cold start used esbuild");
    const entries = readdirSync(cache).filter((f) => f.endsWith(".mjs"));
    assert.equal(entries.length, 1);
    const entry = join(cache, entries[0]);
    // Bun's copy starts with its pragma, so Bun does not transpile the bundle again.
    assert.match(readFileSync(entry, "latin1").slice(0, 40), node ? /^\/\/ tsgi-inputs \[/ : /^\/\/ @bun\n\/\/ tsgi-inputs \[/);
    const filled = statSync(entry).mtimeMs;
    const warm = await runWith("warm.ts", env);
    assert.equal(warm.status, 0, warm.stderr);
    if (node) assert.doesNotMatch(readFileSync(out, "utf8"), /esbuild/, "a warm start must not load esbuild");
    assert.equal(statSync(entry).mtimeMs, filled, "a warm start must not rebuild");
    assert.deepEqual(warm.stdout, cold.stdout);
  });

  test("editing the app (or a file it imports) rebuilds", async () => {
    const dir = join(stage.root, "edit");
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, "msg.ts"), `export const msg: string = "one";\n`);
    writeFileSync(join(dir, "app.ts"), `import { msg } from "./msg.ts";\nexport default (_e: unknown, s: (a: string, b: [string, string][]) => void) => { s("200 OK", [["Content-Type", "text/plain"]]); return [msg]; };\n`);
    stage.app("edit.ts", join(dir, "app.ts"));
    const env = { TSGI_CACHE_DIR: join(stage.root, "cache-edit") };
    assert.equal(splitResponse((await runWith("edit.ts", env)).stdout).body.toString(), "one");
    writeFileSync(join(dir, "msg.ts"), `export const msg: string = "two!";\n`);
    const later = new Date(Date.now() + 2000);
    utimesSync(join(dir, "msg.ts"), later, later);
    assert.equal(splitResponse((await runWith("edit.ts", env)).stdout).body.toString(), "two!");
  });

  test("eight cold starts racing for one entry all answer, and leave one whole entry", async () => {
    stage.app("race.ts", join(FIXTURES, "checks.ts"));
    const cache = join(stage.root, "cache-race");
    const results = await Promise.all(Array.from({ length: 8 }, () => runWith("race.ts", { TSGI_CACHE_DIR: cache })));
    for (const r of results) {
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(splitResponse(r.stdout).body.toString()).PATH_INFO, "/env");
    }
    assert.deepEqual(readdirSync(cache).filter((f) => !f.endsWith(".mjs")), [], "no temp files left behind");
    assert.equal(readdirSync(cache).length, 1);
  });

  test("a cache folder others can write to is never used", async () => {
    stage.app("unsafe.ts", join(FIXTURES, "kinds.ts"), "sync");
    const unsafe = join(stage.root, "cache-unsafe");
    mkdirSync(unsafe);
    chmodSync(unsafe, 0o777);
    const r = await runWith("unsafe.ts", { TSGI_CACHE_DIR: unsafe, TMPDIR: stage.tmp, HOME: join(stage.root, "no-such-home") });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readdirSync(unsafe), []);
  });

  test("an entry is run from a real cache folder, never through a symlink in a folder others can write to", async () => {
    stage.app("link.ts", join(FIXTURES, "kinds.ts"), "sync");
    const real = join(stage.root, "cache-real");
    const env = { TSGI_CACHE_DIR: real, TMPDIR: stage.tmp, HOME: join(stage.root, "no-such-home") };
    assert.equal((await runWith("link.ts", env)).status, 0);
    // Replace the cached code (stamp kept): what someone able to swap the folder would plant.
    const entry = join(real, readdirSync(real).find((f) => f.endsWith(".mjs"))!);
    const lines = readFileSync(entry, "latin1").split("\n");
    const keep = lines[0] === "// @bun" ? 2 : 1;
    writeFileSync(entry, lines.slice(0, keep).join("\n") + `\nprocess.stdout.write("Status: 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nplanted");\n`);
    const control = await runWith("link.ts", env);
    assert.equal(splitResponse(control.stdout).body.toString(), "planted", "the cache is trusted in its own folder");
    const shared = join(stage.root, "shared");
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    symlinkSync(real, join(shared, "cache"));
    const r = await runWith("link.ts", { ...env, TSGI_CACHE_DIR: join(shared, "cache") });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(splitResponse(r.stdout).body.toString(), "sync /env");
  });

  test(`the web server's user (${WEB_USER}) with an unwritable home: a private cache in TMPDIR, the request never fails`, { skip: IS_ROOT ? false : "needs root to run as " + WEB_USER }, async () => {
    stage.app("www.ts", join(FIXTURES, "kinds.ts"), "sync");
    const id = (flag: string) => Number(spawnSync("id", [flag, WEB_USER], { encoding: "utf8" }).stdout);
    const uid = id("-u");
    const home = spawnSync("sh", ["-c", `getent passwd ${WEB_USER} | cut -d: -f6`], { encoding: "utf8" }).stdout.trim();
    const env = { HOME: home, TMPDIR: stage.tmp }; // no TSGI_CACHE_DIR, as a default Apache install
    for (let i = 0; i < 2; i++) {
      const r = await runWith("www.ts", env, { uid, gid: id("-g") });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(splitResponse(r.stdout).body.toString(), "sync /env");
    }
    assert.ok(existsSync(join(stage.tmp, `tsgi-cache-${uid}`)), "fell back to TMPDIR/tsgi-cache-UID");
    assert.equal(readdirSync(join(stage.tmp, `tsgi-cache-${uid}`)).filter((f) => f.endsWith(".mjs")).length, 1);
  });
});
