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
const bun = runtime() === "bun";
// Bun's front checks the cache folder with statx through Bun.FFI, or (TSGI_BUN_FFI=0) with
// Bun.file().stat(): the safety tests run both ways.
const ffiModes = bun ? ["1", "0"] : ["1"];

describe("cgi-run cache", { skip: deno }, () => {
  let stage: Stage;
  let hook: string;
  before(() => {
    stage = makeStage();
    // Lists every CommonJS module Node loaded (esbuild's JS API is one) and its own internal
    // modules (internal/modules/esm/loader once an ES module was loaded) when the process exits.
    hook = join(stage.root, "modules-hook.cjs");
    writeFileSync(hook, `process.on("exit", () => { if (process.env.MODULES_OUT) require("fs").writeFileSync(process.env.MODULES_OUT, Object.keys(require.cache).concat(process.moduleLoadList).join("\\n")); });\n`);
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
    // The body of a function cgi-run's front compiles (bundleCgi's "fn" format).
    assert.match(readFileSync(entry, "latin1").slice(0, 40), node ? /^\/\/ tsgi-node-fn\n\/\/ tsgi-inputs \[/ : /^\/\/ tsgi-bun-fn\n\/\/ tsgi-inputs \[/);
    const filled = statSync(entry).mtimeMs;
    // Bun writes what it transpiles to this cache: the front's hit transpiles nothing (a
    // fallback to cgi-run.ts would add its TypeScript there).
    const piles = join(stage.root, "bun-transpiled");
    const warm = await runWith("warm.ts", { ...env, BUN_RUNTIME_TRANSPILER_CACHE_PATH: piles });
    assert.equal(warm.status, 0, warm.stderr);
    if (node) assert.doesNotMatch(readFileSync(out, "utf8"), /esbuild/, "a warm start must not load esbuild");
    // Node's front (adapters/cgi/cgi-run-node.cjs) runs the program with no ES module loaded:
    // Node 20's ESM loader alone costs ~15 ms, and a fallback to dist/src/cli/cgi-run.js needs it.
    if (node) assert.doesNotMatch(readFileSync(out, "utf8"), /internal\/modules\/esm\/loader/, "a warm start must load no ES module");
    if (bun) assert.deepEqual(existsSync(piles) ? readdirSync(piles) : [], [], "Bun's warm start must transpile nothing");
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
    // A racer that found the entry already stored may have written Bun's bytecode build of it.
    const left = readdirSync(cache).filter((f) => !/\.(mjs|cjs|cjs\.jsc)$/.test(f));
    assert.deepEqual(left, [], "no temp files left behind");
    assert.equal(readdirSync(cache).filter((f) => f.endsWith(".mjs")).length, 1);
  });

  for (const ffi of ffiModes) {
    const how = bun ? ` (TSGI_BUN_FFI=${ffi})` : "";

    test(`a cache folder others can write to is never used${how}`, async () => {
      stage.app(`unsafe${ffi}.ts`, join(FIXTURES, "kinds.ts"), "sync");
      const unsafe = join(stage.root, `cache-unsafe${ffi}`);
      mkdirSync(unsafe);
      chmodSync(unsafe, 0o777);
      const r = await runWith(`unsafe${ffi}.ts`, { TSGI_CACHE_DIR: unsafe, TMPDIR: stage.tmp, HOME: join(stage.root, "no-such-home"), TSGI_BUN_FFI: ffi });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(readdirSync(unsafe), []);
    });

    test(`an entry is run from a real cache folder, never through a symlink in a folder others can write to${how}`, async () => {
      const name = `link${ffi}.ts`;
      stage.app(name, join(FIXTURES, "kinds.ts"), "sync");
      const real = join(stage.root, `cache-real${ffi}`);
      const env = { TSGI_CACHE_DIR: real, TMPDIR: stage.tmp, HOME: join(stage.root, "no-such-home"), TSGI_BUN_FFI: ffi };
      assert.equal((await runWith(name, env)).status, 0);
      // Replace the cached code (stamp kept): what someone able to swap the folder would plant.
      const entry = join(real, readdirSync(real).find((f) => f.endsWith(".mjs"))!);
      const lines = readFileSync(entry, "latin1").split("\n");
      const keep = lines[0] === "// @bun" || lines[0] === "// tsgi-bun-fn" || lines[0] === "// tsgi-node-fn" ? 2 : 1;
      writeFileSync(entry, lines.slice(0, keep).join("\n") + `\nprocess.stdout.write("Status: 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nplanted");\n`);
      const control = await runWith(name, env);
      assert.equal(splitResponse(control.stdout).body.toString(), "planted", "the cache is trusted in its own folder");
      const shared = join(stage.root, `shared${ffi}`);
      mkdirSync(shared);
      chmodSync(shared, 0o1777);
      symlinkSync(real, join(shared, "cache"));
      const r = await runWith(name, { ...env, TSGI_CACHE_DIR: join(shared, "cache") });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(splitResponse(r.stdout).body.toString(), "sync /env");
    });
  }

  test("the front and src/cli/cgi-run.ts find each other's entries (same key, same format)", async () => {
    stage.app("both.ts", join(FIXTURES, "kinds.ts"), "sync");
    const cache = join(stage.root, "cache-both");
    const env = { PATH: stage.path, ...cgiEnv("both.ts", "/env"), TSGI_CACHE_DIR: cache };
    const file = join(stage.cgiBin, "both.ts");
    const cold = await runCgiRun(file, { env, ts: true });
    assert.equal(cold.status, 0, cold.stderr);
    const entry = join(cache, readdirSync(cache)[0]);
    const before = statSync(entry);
    // What a fallback to cgi-run.ts would leave: Bun transpiles its TypeScript into this
    // folder; Node loads its ES module loader (listed by the hook).
    const piles = join(stage.root, "bun-transpiled-both");
    const out = join(stage.root, "modules-both.txt");
    const watch: Record<string, string> = bun ? { BUN_RUNTIME_TRANSPILER_CACHE_PATH: piles } : { NODE_OPTIONS: `--require ${hook}`, MODULES_OUT: out };
    const warm = await runCgiRun(file, { env: { ...env, ...watch } });
    assert.equal(warm.status, 0, warm.stderr);
    assert.deepEqual(warm.stdout, cold.stdout);
    assert.equal(statSync(entry).ino, before.ino, "the front used cgi-run.ts's entry");
    if (bun) assert.deepEqual(existsSync(piles) ? readdirSync(piles) : [], [], "the front did not fall back to cgi-run.ts");
    else assert.doesNotMatch(readFileSync(out, "utf8"), /internal\/modules\/esm\/loader/, "the front did not fall back to cgi-run.ts");
    const again = await runCgiRun(file, { env, ts: true });
    assert.deepEqual(again.stdout, cold.stdout);
    assert.equal(statSync(entry).ino, before.ino, "cgi-run.ts used its entry");
  });

  test("an app's own top-level await works, and a module that throws while loading runs once (a 500)", async () => {
    const dir = join(stage.root, "load");
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
    const handler = `export default (_e: unknown, s: (a: string, b: [string, string][]) => void) => { s("200 OK", [["Content-Type", "text/plain"]]); return [msg]; };\n`;
    writeFileSync(join(dir, "tla.ts"), `const msg: string = await Promise.resolve("awaited");\n${handler}`);
    // A SyntaxError thrown while running, not while compiling: Bun's front must not take it
    // for a program it cannot run as a script and run the module a second time.
    writeFileSync(join(dir, "once.ts"), `process.stderr.write("loading once.ts\\n");\nconst msg: string = JSON.parse("{");\n${handler}`);
    stage.app("tla.ts", join(dir, "tla.ts"));
    stage.app("once.ts", join(dir, "once.ts"));
    const env = { TSGI_CACHE_DIR: join(stage.root, "cache-load") };
    for (const round of ["cold", "warm"]) {
      const tla = await runWith("tla.ts", env);
      assert.equal(tla.status, 0, tla.stderr);
      assert.equal(splitResponse(tla.stdout).body.toString(), "awaited", round);
      const once = await runWith("once.ts", env);
      assert.match(splitResponse(once.stdout).head, /^Status: 500 /, round);
      assert.equal(once.stderr.split("loading once.ts").length, 2, `${round}: loaded once\n${once.stderr}`);
      assert.match(once.stderr, /SyntaxError/);
    }
    // Bun cannot build a program with an app's own top-level await as CommonJS: an empty
    // marker says so, and the front runs it as the function (the answers above).
    if (bun) assert.ok(readdirSync(env.TSGI_CACHE_DIR).some((f) => f.endsWith(".cjs") && statSync(join(env.TSGI_CACHE_DIR, f)).size === 0));
  });

  test("Bun: the front runs a cached program as a script, then from the bytecode build it keeps beside the entry", { skip: bun ? false : "Bun's front only" }, async () => {
    const dir = join(stage.root, "trace");
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, "app.ts"), `export default (e: Record<string, unknown>, s: (a: string, b: [string, string][]) => void): string[] => { if (e.PATH_INFO === "/throw") throw new Error("thrown by the app"); s("200 OK", [["Content-Type", "text/plain"]]); return ["fine"]; };\n`);
    stage.app("trace.ts", join(dir, "app.ts"));
    const cache = join(stage.root, "cache-trace");
    const run = (pathInfo: string, env: Record<string, string> = {}) =>
      runCgiRun(join(stage.cgiBin, "trace.ts"), { env: { PATH: stage.path, ...cgiEnv("trace.ts", pathInfo), TSGI_CACHE_DIR: cache, ...env } });
    const cjs = () => readdirSync(cache).filter((f) => f.endsWith(".cjs"));
    assert.equal((await run("/throw")).status, 0); // cold: cgi-run.ts builds the entry
    const entry = join(cache, readdirSync(cache).find((f) => f.endsWith(".mjs"))!);
    assert.deepEqual(cjs(), [], "the cold start wrote no bytecode build");
    // TSGI_BUN_BYTECODE=0: the script, and nothing written.
    const plain = await run("/throw", { TSGI_BUN_BYTECODE: "0" });
    assert.ok(plain.stderr.includes("thrown by the app") && plain.stderr.includes(entry), plain.stderr);
    assert.deepEqual(cjs(), []);
    // The first warm start writes the build (and runs the script); the next runs the build.
    const first = await run("/throw");
    assert.ok(first.stderr.includes(entry), first.stderr);
    assert.equal(cjs().length, 1);
    const side = join(cache, cjs()[0]);
    for (const f of [side, side + ".jsc"]) assert.equal(statSync(f).mode & 0o777, 0o600, f);
    const second = await run("/throw");
    assert.match(splitResponse(second.stdout).head, /^Status: 500 /);
    assert.ok(second.stderr.includes("thrown by the app") && second.stderr.includes(side), second.stderr);
    assert.equal(splitResponse((await run("/ok")).stdout).body.toString(), "fine");
    // Bun ignores bytecode that does not match its source.
    writeFileSync(side + ".jsc", "not bytecode");
    assert.equal(splitResponse((await run("/ok")).stdout).body.toString(), "fine");
    // A build others could have written is not run.
    writeFileSync(side, `process.stdout.write("Status: 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nplanted");\n`);
    chmodSync(side, 0o666);
    assert.equal(splitResponse((await run("/ok")).stdout).body.toString(), "fine");
    chmodSync(side, 0o600);
    assert.equal(splitResponse((await run("/ok")).stdout).body.toString(), "planted", "the build is trusted in its own folder");
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
