/**
 * cgi-run's cache pruning (docs/cgi.md, "Pruning the cache") on Node and Bun, and the Bun
 * front's bytecode builds in folders it cannot write or with a `.jsc` gone. Every file is a
 * real one in a real cache folder, and every request a real cgi-run process.
 */
import assert from "node:assert/strict";
import { chmodSync, chownSync, existsSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runtime } from "../support/runtime.ts";
import { FIXTURES, IS_ROOT, makeStage, WEB_USER, type Stage } from "./stage.ts";
import { cgiEnv, runCgiRun, splitResponse } from "./spawn.ts";

const bun = runtime() === "bun";
const deno = runtime() === "deno" ? "Deno runs the TypeScript as is: the cache is Node's and Bun's" : false;
const bunOnly = bun ? false : "Bun's front only";

/** Older than the 60 s grace (src/cli/bundle.ts, PRUNE_GRACE_MS). */
const OLD = (Date.now() - 10 * 60_000) / 1000;
const backdate = (p: string) => (lstatSync(p).isSymbolicLink() ? lutimesSync(p, OLD, OLD) : utimesSync(p, OLD, OLD));
const hexKey = () => randomBytes(14).toString("hex");
const stampLine = (inputs: [string, number, number][]) => `// tsgi-inputs ${JSON.stringify(inputs)}\n`;

describe("cgi-run cache pruning", { skip: deno }, () => {
  let stage: Stage;
  before(() => (stage = makeStage()));
  after(() => stage.remove());

  const run = (name: string, cache: string, env: Record<string, string> = {}, opts: { uid?: number; gid?: number } = {}) =>
    runCgiRun(join(stage.cgiBin, name), { env: { PATH: stage.path, ...cgiEnv(name, "/env"), TSGI_CACHE_DIR: cache, ...env }, ...opts });
  const ok = async (name: string, cache: string, env: Record<string, string> = {}, opts: { uid?: number; gid?: number } = {}) => {
    const r = await run(name, cache, env, opts);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(splitResponse(r.stdout).body.toString(), "sync /env", r.stderr);
    return r;
  };
  const folder = (name: string) => {
    const dir = join(stage.root, name);
    mkdirSync(dir, { mode: 0o700 });
    return dir;
  };
  const entries = (cache: string) => readdirSync(cache).filter((f) => f.endsWith(".mjs")).sort();

  test("editing an app again and again leaves one entry (and, on Bun, one bytecode build)", async () => {
    const cache = folder("cache-edits");
    const script = stage.app("edits.ts", join(FIXTURES, "kinds.ts"), "sync");
    for (let i = 0; i < 3; i++) {
      writeFileSync(script, readFileSync(script, "utf8") + `// edit ${i}\n`);
      await ok("edits.ts", cache); // cold: builds, and prunes the last edit's files
      const [entry] = entries(cache);
      assert.deepEqual(entries(cache), [entry], `edit ${i}`);
      const key = entry.slice(0, -4);
      assert.deepEqual(readdirSync(cache).filter((f) => !f.startsWith(key + ".")), [], `edit ${i}: only the new entry's files are left`);
      await ok("edits.ts", cache); // warm: Bun's front writes the bytecode build
      if (bun) assert.equal(readdirSync(cache).length, 3, "entry, .cjs and .cjs.jsc");
      for (const f of readdirSync(cache)) backdate(join(cache, f));
    }
  });

  test("a miss removes only old, stale files named as tsgi names them, never through a symlink", async () => {
    const cache = folder("cache-mixed");
    const inputs = folder("inputs");
    stage.app("mixed.ts", join(FIXTURES, "kinds.ts"), "sync");
    const kept: string[] = [];
    const gone: string[] = [];
    const file = (name: string, text: string, old: boolean, list: string[]) => {
      writeFileSync(join(cache, name), text, { mode: 0o600 });
      if (old) backdate(join(cache, name));
      list.push(name);
    };
    // An input with a sub-millisecond mtime: Bun stamps it truncated, Node with the fraction.
    const input = join(inputs, "lib.ts");
    writeFileSync(input, "export {};\n");
    utimesSync(input, 1_700_000_000.1234567, 1_700_000_000.1234567);
    const { size, mtimeMs } = statSync(input);
    const fresh = hexKey();
    file(`${fresh}.mjs`, `// tsgi-bun-fn\n${stampLine([[input, size, Math.trunc(mtimeMs)]])}code\n`, true, kept);
    file(`${fresh}.h1.cjs`, "built", true, kept);
    file(`${hexKey()}.mjs`, stampLine([[input, size, mtimeMs]]) + "code\n", true, kept);
    // Stale: one input gone, one of another size; with their bytecode builds.
    const missing = hexKey();
    file(`${missing}.mjs`, stampLine([[input, size, mtimeMs], [join(inputs, "gone.ts"), 1, 1]]) + "code\n", true, gone);
    file(`${missing}.h1.cjs`, "built", true, gone);
    file(`${missing}.h1.cjs.jsc`, "bytecode", true, gone);
    file(`${hexKey()}.mjs`, `// @bun\n${stampLine([[input, size + 1, mtimeMs]])}code\n`, true, gone);
    file(`${hexKey()}.mjs`, stampLine([[input, size + 1, mtimeMs]]) + "code\n", false, kept); // stale but young
    file(`${hexKey()}.mjs`, "no stamp: another version's format\n", true, kept);
    // Builds and temp files whose entry is gone; old ones go, young ones stay.
    file(`${hexKey()}.x9.cjs`, "", true, gone);
    file(`${hexKey()}.x9.cjs.jsc`, "bytecode", true, gone);
    file(`${hexKey()}.x9.cjs`, "built", false, kept);
    file(`${hexKey()}.mjs.1234.1700000000000.tmp`, "half", true, gone);
    file(`${hexKey()}.mjs.1234.1700000000000.tmp`, "half", false, kept);
    for (const [name, old, list] of [[".tsgi-bc-Ab12Cd", true, gone], [".tsgi-bc-Ef34Gh", false, kept]] as const) {
      mkdirSync(join(cache, name));
      writeFileSync(join(cache, name, "program.js"), "x");
      if (old) backdate(join(cache, name));
      list.push(name);
    }
    // Not ours by name, however old.
    for (const name of ["notes.txt", `${hexKey()}.mjs.bak`, `${hexKey().toUpperCase()}.mjs`, `${hexKey()}.mjs.tmp`, ".tsgi-bc-toolong1"]) file(name, "x", true, kept);
    mkdirSync(join(cache, "v8"));
    backdate(join(cache, "v8"));
    kept.push("v8");
    // Symlinks named as ours, to a stale entry and to a folder elsewhere: neither is followed.
    const outside = folder("outside");
    writeFileSync(join(outside, "keep.txt"), "x");
    writeFileSync(join(outside, "stale.mjs"), stampLine([[join(inputs, "gone.ts"), 1, 1]]));
    backdate(join(outside, "stale.mjs"));
    backdate(outside);
    symlinkSync(join(outside, "stale.mjs"), join(cache, `${hexKey()}.mjs`));
    symlinkSync(outside, join(cache, ".tsgi-bc-Link01"));
    for (const f of readdirSync(cache)) if (lstatSync(join(cache, f)).isSymbolicLink()) backdate(join(cache, f)), kept.push(f);

    await ok("mixed.ts", cache); // a warm start would not prune: this is the miss
    const left = readdirSync(cache);
    for (const f of kept) assert.ok(left.includes(f), `kept ${f}`);
    for (const f of gone) assert.ok(!left.includes(f), `removed ${f}`);
    assert.deepEqual(readdirSync(outside).sort(), ["keep.txt", "stale.mjs"]);
    assert.equal(left.length, kept.length + 1, "plus the new entry");
  });

  test("a warm start never lists the cache folder", async () => {
    const cache = folder("cache-warm");
    stage.app("warm.ts", join(FIXTURES, "kinds.ts"), "sync");
    await ok("warm.ts", cache);
    const stale = `${hexKey()}.mjs`;
    writeFileSync(join(cache, stale), stampLine([[join(stage.root, "gone.ts"), 1, 1]]), { mode: 0o600 });
    const orphan = `${hexKey()}.z.cjs`;
    writeFileSync(join(cache, orphan), "", { mode: 0o600 });
    for (const f of [stale, orphan]) backdate(join(cache, f));
    await ok("warm.ts", cache);
    await ok("warm.ts", cache);
    assert.ok(existsSync(join(cache, stale)) && existsSync(join(cache, orphan)));
  });

  test(`files the web server's user (${WEB_USER}) cannot remove: the request answers, one line in the error log`, { skip: IS_ROOT ? false : "needs root to run as " + WEB_USER }, async () => {
    const id = (flag: string) => Number(spawnSync("id", [flag, WEB_USER], { encoding: "utf8" }).stdout);
    const [uid, gid] = [id("-u"), id("-g")];
    const cache = folder("cache-www");
    chownSync(cache, uid, gid);
    // Temp folders of ours (by name and owner) holding what root put there.
    for (const name of [".tsgi-bc-Root01", ".tsgi-bc-Root02"]) {
      mkdirSync(join(cache, name, "sub"), { recursive: true });
      writeFileSync(join(cache, name, "sub", "f"), "x");
      chownSync(join(cache, name), uid, gid);
      backdate(join(cache, name));
    }
    stage.app("www.ts", join(FIXTURES, "kinds.ts"), "sync");
    const r = await ok("www.ts", cache, {}, { uid, gid });
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^tsgi: could not prune stale files from the cache folder .*cache-www \(\.tsgi-bc-Root0[12]: /);
    assert.equal(entries(cache).length, 1);
  });

  test("Bun: a new bytecode build replaces the entry's builds with another hash (an older Bun's)", { skip: bunOnly }, async () => {
    const cache = folder("cache-hash");
    stage.app("hash.ts", join(FIXTURES, "kinds.ts"), "sync");
    await ok("hash.ts", cache);
    const key = entries(cache)[0].slice(0, -4);
    const others = [`${key}.oldbun.cjs`, `${key}.oldbun.cjs.jsc`, `${key}.marker.cjs`, `${hexKey()}.oldbun.cjs`];
    for (const f of others) writeFileSync(join(cache, f), f.includes("marker") ? "" : "x", { mode: 0o600 });
    await ok("hash.ts", cache); // writes the build
    const builds = readdirSync(cache).filter((f) => f.startsWith(key + ".") && f.includes(".cjs"));
    assert.equal(builds.length, 2, builds.join(" "));
    assert.ok(!builds.some((f) => f.startsWith(`${key}.oldbun.`)));
    assert.ok(existsSync(join(cache, others[3])), "another entry's build is left to the cold path");
  });

  test("Bun: a build whose .jsc is gone is built again", { skip: bunOnly }, async () => {
    const cache = folder("cache-jsc");
    stage.app("jsc.ts", join(FIXTURES, "kinds.ts"), "sync");
    await ok("jsc.ts", cache);
    await ok("jsc.ts", cache);
    const side = join(cache, readdirSync(cache).find((f) => f.endsWith(".cjs"))!);
    unlinkSync(side + ".jsc");
    await ok("jsc.ts", cache);
    assert.ok(existsSync(side + ".jsc"), "rebuilt");
    assert.ok(statSync(side).size > 0);
  });

  test("Bun: in a cache folder it cannot write, the front runs the script and tries no build", { skip: bunOnly }, async () => {
    // Root-owned folder, run as the web server's user (a prebuilt cache); or, not as root, the
    // user's own folder without write permission.
    const ids: { uid?: number; gid?: number } = IS_ROOT ? { uid: Number(spawnSync("id", ["-u", WEB_USER], { encoding: "utf8" }).stdout), gid: Number(spawnSync("id", ["-g", WEB_USER], { encoding: "utf8" }).stdout) } : {};
    const cache = folder("cache-readonly");
    if (IS_ROOT) {
      chmodSync(cache, 0o755); // root's, later: the web server's user must still get in
      chownSync(cache, ids.uid!, ids.gid!);
    }
    stage.app("ro.ts", join(FIXTURES, "kinds.ts"), "sync");
    await ok("ro.ts", cache, {}, ids);
    const lock = () => (IS_ROOT ? chownSync(cache, 0, 0) : chmodSync(cache, 0o500));
    const unlock = () => (IS_ROOT ? chownSync(cache, ids.uid!, ids.gid!) : chmodSync(cache, 0o700));
    // Lists the modules Bun loaded when the process exits (require.cache has ES modules too).
    const hook = join(stage.tmp, "modules-hook.js");
    const out = join(stage.tmp, "modules.txt");
    writeFileSync(hook, `process.on("exit", () => require("fs").writeFileSync(${JSON.stringify(out)}, Object.keys(require.cache).join("\\n")));\n`);
    chmodSync(hook, 0o644);
    const env = { BUN_OPTIONS: `--preload ${hook}` };
    const loaded = () => {
      const text = readFileSync(out, "utf8");
      rmSync(out);
      assert.match(text, /cgi-run-bun\.js/, "the hook saw the front");
      return text;
    };
    lock();
    try {
      await ok("ro.ts", cache, env, ids);
      assert.doesNotMatch(loaded(), /bun-bytecode|cgi-run\.ts/, "no build tried, no fallback");
      assert.deepEqual(readdirSync(cache).filter((f) => !f.endsWith(".mjs")), []);
    } finally {
      unlock();
    }
    await ok("ro.ts", cache, env, ids);
    assert.match(loaded(), /bun-bytecode/, "where it can write, the first warm start builds");
    assert.equal(readdirSync(cache).filter((f) => f.endsWith(".cjs.jsc")).length, 1);
  });
});
