// @bun
/**
 * Bytecode for a program cgi-run cached for Bun (see sidecar() in cgi-run-bun.js): the
 * entry's async function body rebuilt by Bun.build as CommonJS with `bytecode: true`, written
 * next to the entry. Loaded only on the first warm start of an entry; Bun.build costs ~80 ms.
 */
import { chmodSync, lstatSync, mkdtempSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";

const STRICT = '"use strict";';

/**
 * Write `side` (CommonJS) and `side.jsc` (its bytecode), or an empty `side` when Bun cannot
 * build the program as CommonJS. Each is written in a private temp folder and renamed into
 * place, the `.jsc` first: a reader that finds `side` finds its bytecode, and two first
 * requests racing write the same files. The body's `await runCgiModule(...)` becomes
 * `module.exports = runCgiModule(...)`, so requiring the file gives the request's promise;
 * `require` in the body is the app's (a global the front sets), as in the function form.
 * The same entry's builds with another hash (an older stamp's, another Bun's) then go.
 */
export async function writeBytecode(side, body) {
  const dir = side.slice(0, side.lastIndexOf("/"));
  const tmp = mkdtempSync(dir + "/.tsgi-bc-");
  try {
    const entry = body.lastIndexOf("\nawait runCgiModule(");
    const source = STRICT + "var require = globalThis.__tsgiAppRequire;" + body.slice(STRICT.length, entry + 1) + "module.exports = " + body.slice(entry + 7);
    writeFileSync(tmp + "/program.js", source, { mode: 0o600 });
    const out = await Bun.build({ entrypoints: [tmp + "/program.js"], outdir: tmp + "/out", format: "cjs", target: "bun", bytecode: true, packages: "external", throw: false });
    const js = tmp + "/out/program.js";
    if (out.success && out.outputs.length === 2) {
      chmodSync(js + ".jsc", 0o600);
      chmodSync(js, 0o600);
      renameSync(js + ".jsc", side + ".jsc");
      renameSync(js, side);
    } else {
      writeFileSync(tmp + "/none", "", { mode: 0o600 });
      renameSync(tmp + "/none", side);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  dropOtherBuilds(dir, side.slice(dir.length + 1));
}

/**
 * Remove `<key>.<hash>.cjs` and `.cjs.jsc` files beside `name` (`<key>.<hash>.cjs`) with
 * another hash: nothing will run them again (a Bun that still wants one rebuilds it). Errors
 * are ignored: the cold path's pruning (src/cli/bundle.ts) reports a folder it cannot clean.
 */
function dropOtherBuilds(dir, name) {
  const key = name.slice(0, name.indexOf(".") + 1);
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const f of names) {
    if (!f.startsWith(key) || f === name || f === name + ".jsc" || !/^[0-9a-f]{28}\.[0-9a-z]+\.cjs(\.jsc)?$/.test(f)) continue;
    try {
      if (lstatSync(dir + "/" + f).isFile()) unlinkSync(dir + "/" + f);
    } catch { /* gone already */ }
  }
}
