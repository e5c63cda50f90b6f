#!/usr/bin/env bun
// @bun
/**
 * cgi-run's warm path under Bun, as the #! line of an app in cgi-bin (docs/cgi.md):
 *
 *     #!/usr/bin/env -S bun /usr/local/lib/node_modules/tsgi/adapters/cgi/cgi-run-bun.js
 *
 * Plain JavaScript marked `// @bun`, so Bun runs it without transpiling (TypeScript fronts
 * cost ~4 ms more per request, even from Bun's transpiler cache), importing nothing. It finds
 * the program src/cli/cgi-run.ts cached for this app, checks it as src/cli/loader.ts does
 * (the same key, owner and stamp checks) and runs it; anything else (a miss, a stale entry,
 * an `app.ts:export` argument, a folder it cannot vouch for without node:fs) goes to
 * cgi-run.ts, which builds, stores and runs. The program runs from a bytecode build the front
 * keeps beside the entry (sidecar()), or as a script. No regular expression, no top-level
 * await and no async function on the warm path: each is work Bun does on first use (a
 * top-level await alone ~0.7 ms of a ~38 ms start).
 */
const env = process.env;
// httpoxy: see src/cli/cgi-run.ts.
if (env.GATEWAY_INTERFACE !== undefined || env.REQUEST_METHOD !== undefined) delete env.HTTP_PROXY;

// = LOADER_VERSION, BUN_FN_HEAD and BUN_PRAGMA in src/cli/loader.ts (test/cgi/cache.test.ts
// fails when this front misses what cgi-run.ts stored).
const VERSION = "tsgi-1.0.0-loader-5";
const FN_HEAD = "// tsgi-bun-fn";
const ESM_HEAD = "// @bun";
const STAMP = "// tsgi-inputs ";

/** loader.ts's cacheKey (two 53-bit hashes of its parts joined by NULs, as `s`). */
function cacheKey(s) {
  return hash53(s, 0).toString(16).padStart(14, "0") + hash53(s, 0x9e3779b9).toString(16).padStart(14, "0");
}

function hash53(s, seed) {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** An absolute path with no empty, `.` or `..` segment: what loader.ts keys on unchanged. */
function normalAbsolute(p) {
  if (typeof p !== "string" || p[0] !== "/" || p.endsWith("/") || p.endsWith("/.") || p.endsWith("/..")) return false;
  return !p.includes("//") && !p.includes("/./") && !p.includes("/../");
}

/**
 * Cache folders as loader.ts's eachCacheDir names them, minus a home found only in /etc/passwd
 * (any of them holding a fresh entry will do). An array, not a generator, and no join() or
 * split() above: each is one more of Bun's builtins compiled on first use (~0.4 ms).
 */
function cacheDirs(uid) {
  const dirs = [];
  if (env.TSGI_CACHE_DIR) dirs.push(env.TSGI_CACHE_DIR);
  if (env.XDG_CACHE_HOME) dirs.push(env.XDG_CACHE_HOME + "/tsgi");
  if (env.HOME) dirs.push(env.HOME + "/.cache/tsgi");
  let tmp = env.TMPDIR || env.TMP || env.TEMP || "/tmp";
  while (tmp.length > 1 && tmp.endsWith("/")) tmp = tmp.slice(0, -1);
  dirs.push(tmp + "/tsgi-cache-" + uid);
  return dirs;
}

const ownedSafe = (st, uid) => st !== null && (st.uid === uid || st.uid === 0) && (st.mode & 0o022) === 0;
const stat = (p) => Bun.file(p).stat().catch(() => null);
const utf8 = new TextDecoder();
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

/**
 * lstat() as `{ uid, mode }` (null when it fails) through glibc's statx and Bun.FFI: ~0.6 ms
 * the first time, where Bun.file().stat() costs ~5 ms of CPU (it builds a node:fs Stats) and
 * node:fs itself more. statx's result layout is the same on every Linux architecture. Null
 * where there is no such function (not Linux, not glibc, no FFI): then Bun.file().stat().
 */
function openLstat() {
  // TSGI_BUN_FFI=0 turns it off (Bun calls its FFI experimental; the tests cover both paths).
  if (process.platform !== "linux" || Bun.FFI === undefined || env.TSGI_BUN_FFI === "0") return null;
  try {
    const { dlopen, ptr } = Bun.FFI;
    const libc = dlopen("libc.so.6", { statx: { args: ["i32", "ptr", "i32", "u32", "ptr"], returns: "i32" } });
    const buf = new ArrayBuffer(256);
    const u32 = new Uint32Array(buf);
    const u16 = new Uint16Array(buf);
    const encoder = new TextEncoder();
    // AT_FDCWD, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MODE | STATX_UID
    const call = (path) => libc.symbols.statx(-100, ptr(encoder.encode(path + "\0")), 0x100, 0xb, ptr(u32));
    return (path) => (call(path) === 0 && (u32[0] & 0xb) === 0xb ? { uid: u32[5], mode: u16[14] } : null);
  } catch {
    return null;
  }
}

/**
 * The cached program for the app at `spec`, checked, as a function that runs it; null when
 * cgi-run.ts must take over. Synchronous where statx is there; otherwise a promise (warmSlow).
 */
function warm(spec) {
  if (!normalAbsolute(spec) || spec.lastIndexOf(":") > spec.lastIndexOf("/")) return null;
  const app = Bun.file(spec);
  const size = app.size;
  if (size === 0) return null; // missing, or empty: cgi-run.ts says which
  const name = cacheKey(VERSION + "\0cgi\0bun\0" + spec + "\0default\0" + size + "\0" + app.lastModified) + ".mjs";
  const uid = process.getuid();
  const dirs = cacheDirs(uid);
  for (let i = 0; i < dirs.length; i++) {
    const dir = dirs[i];
    if (!normalAbsolute(dir)) continue;
    const file = dir + "/" + name;
    if (Bun.file(file).size === 0) continue; // not here (an entry is never empty)
    const lstat = openLstat();
    if (lstat === null) return warmSlow(spec, dir, file, uid);
    // The folder itself, not what a symlink in its place points to; the file likewise.
    const d = lstat(dir);
    const f = lstat(file);
    if (!ownedSafe(d, uid) || (d.mode & S_IFMT) !== S_IFDIR || !ownedSafe(f, uid) || (f.mode & S_IFMT) !== S_IFREG) return null;
    // Whether a bytecode build could be written beside the entry, from the lstat at hand: not
    // in a folder root owns (prebuilt) when the web server's user runs this.
    const writable = uid === 0 || (d.uid === uid && (d.mode & 0o200) !== 0);
    return load(spec, file, (p) => {
      const st = lstat(p);
      return st === null ? null : ownedSafe(st, uid) && (st.mode & S_IFMT) === S_IFREG;
    }, writable);
  }
  return null;
}

/**
 * warm() without statx: the ownership stats run on Bun's thread pool while the entry is read
 * and its stamps checked (nothing in it runs); the program runs only once they pass.
 */
async function warmSlow(spec, dir, file, uid) {
  const parent = dir.slice(0, dir.lastIndexOf("/")) || "/";
  const checks = Promise.all([stat(file), stat(dir), stat(parent)]);
  const run = load(spec, file, null, false);
  const [f, d, up] = await checks;
  if (!ownedSafe(f, uid) || !f.isFile() || !ownedSafe(d, uid) || !d.isDirectory()) return null;
  // Bun's stat follows symlinks: where others could have planted one (/tmp), lstat the folder.
  if (!ownedSafe(up, uid)) {
    const st = import.meta.require("node:fs").lstatSync(dir, { throwIfNoEntry: false });
    if (st === undefined || !st.isDirectory() || !ownedSafe(st, uid)) return null;
  }
  return run;
}

/**
 * The entry `file` read, its stamps checked and its program made ready to run (null: stale,
 * or not an entry). A BUN_FN_HEAD program is an async function's body that ends with the line
 * `await runCgiModule(...)` (bundle.ts's entry). It runs from its bytecode (sidecar(), where
 * `safeFile`, an lstat check, can vouch for the files: true, false, or null for a missing
 * file; `writable`: a build may be written beside the entry) or else as a strict script: with that
 * `await` dropped, an indirect eval runs it and its value is runCgiModule's promise.
 * JavaScriptCore then parses it once; `new AsyncFunction` parses it to check it and again
 * when first called (~2.7M instructions, ~0.9 ms for a hello). Strict eval code keeps its
 * declarations to itself; the function's two parameters become globals. A body the script
 * form cannot take (another top-level await: an app's own) fails to compile before anything
 * in it ran, and is then run as the function.
 */
function load(spec, file, safeFile, writable) {
  const bytes = Bun.mmap(file);
  const nl1 = bytes.indexOf(10);
  const nl2 = bytes.indexOf(10, nl1 + 1);
  const head = utf8.decode(bytes.subarray(0, nl1));
  const stamp = utf8.decode(bytes.subarray(nl1 + 1, nl2));
  if (nl1 < 0 || nl2 < 0 || (head !== FN_HEAD && head !== ESM_HEAD) || !fresh(stamp)) return null;
  if (head !== FN_HEAD) return () => import(file);
  const body = utf8.decode(bytes.subarray(nl2 + 1));
  let req;
  const fromApp = (id) => (req ??= import.meta.require("node:module").createRequire(spec))(id);
  fromApp.resolve = (id, options) => (req ??= import.meta.require("node:module").createRequire(spec)).resolve(id, options);
  const entry = body.lastIndexOf("\nawait runCgiModule(");
  const end = body.indexOf("\n", entry + 1);
  if (!body.startsWith(STRICT) || entry < 0 || (end >= 0 && end !== body.length - 1)) return asFunction(body, fromApp);
  const script = () => {
    globalThis.__tsgiRequire = import.meta.require;
    globalThis.require = fromApp;
    let started = false;
    globalThis.__tsgiStarted = () => (started = true);
    // "use strict"; then the mark, on the same line (line numbers in stack traces stay right).
    const text = STRICT + "__tsgiStarted();" + body.slice(STRICT.length, entry + 1) + body.slice(entry + 7) + "\n//# sourceURL=" + file;
    try {
      return indirectEval(text);
    } catch (err) {
      if (started || !(err instanceof SyntaxError)) throw err;
      return asFunction(body, fromApp)();
    }
  };
  return safeFile === null || env.TSGI_BUN_BYTECODE === "0" ? script : sidecar(file, stamp, body, safeFile, writable, script, fromApp);
}

/**
 * Run the program from bytecode when it has some. Bun runs a CommonJS file built with
 * `Bun.build({ bytecode: true })` from the `.jsc` file next to it, with no parsing: a warm hello
 * ~12M instructions (half its start) and ~3 ms less. The entry's format is cgi-run.ts's, so the
 * front keeps that build beside it (bun-bytecode.js writes it on the first warm start, which
 * pays for Bun.build): `<key>.<hash>.cjs` and `.cjs.jsc`, named by a hash of the entry's stamp
 * line (its inputs, hence its code) and Bun's version, so a rebuilt entry or another Bun never
 * meets an old one. Bun itself ignores a `.jsc` that does not match its source. An empty
 * `.cjs` marks a program Bun cannot build as CommonJS (an app's top-level await): the script.
 * A `.cjs` whose `.jsc` is missing is built again, as is a missing build; not where the
 * front cannot write (`writable` false): there it would fail on every request.
 */
function sidecar(file, stamp, body, safeFile, writable, script, fromApp) {
  const side = file.slice(0, -4) + "." + Bun.hash(stamp + "\0" + Bun.version + "\0" + Bun.revision).toString(36) + ".cjs";
  if (Bun.file(side).size > 0) {
    if (!safeFile(side)) return script;
    const jsc = safeFile(side + ".jsc");
    if (jsc) {
      return () => {
        // What bun-bytecode.js's build calls for builtins and for the app's own require.
        globalThis.__tsgiRequire = import.meta.require;
        globalThis.__tsgiAppRequire = fromApp;
        return import.meta.require(side);
      };
    }
    if (jsc === false) return script;
  } else if (safeFile(side)) {
    return script; // the empty marker
  }
  if (!writable) return script;
  return async () => {
    try {
      const { writeBytecode } = await import("./bun-bytecode.js");
      await writeBytecode(side, body);
    } catch {
      // Only an optimisation: this request runs as a script, the next one tries again.
    }
    return script();
  };
}

const STRICT = '"use strict";';
const indirectEval = eval;

function asFunction(body, fromApp) {
  const AsyncFunction = (async () => {}).constructor;
  const program = new AsyncFunction("__tsgiRequire", "require", body);
  return () => program(import.meta.require, fromApp);
}

/** The stamp line names every input with the size and mtime it had (-1: size only). */
function fresh(line) {
  if (!line.startsWith(STAMP)) return false;
  let inputs;
  try {
    inputs = JSON.parse(line.slice(STAMP.length));
  } catch {
    return false;
  }
  for (let i = 0; i < inputs.length; i++) {
    const size = inputs[i][1];
    const mtime = inputs[i][2];
    const f = Bun.file(inputs[i][0]);
    // Size 0 is also how Bun reports a missing file: loader.ts tells the two apart.
    if (size === 0 || f.size !== size || (mtime !== -1 && f.lastModified !== mtime)) return false;
  }
  return true;
}

function fallBack() {
  return import("../../src/cli/cgi-run.ts");
}

function serve(run) {
  if (run === null) return fallBack();
  try {
    // The program serves the request and exits.
    return Promise.resolve(run()).catch(failed);
  } catch (err) {
    return failed(err);
  }
}

async function failed(err) {
  const { failCgi } = await import("./run.ts");
  await failCgi(`app file ${spec} failed to load: ${err instanceof Error ? err.stack : String(err)}`);
}

const spec = process.argv[2];
let found = null;
try {
  found = warm(spec);
} catch {
  found = null; // an unreadable entry, a program that does not compile: cgi-run.ts reports it
}
if (found === null || typeof found.then !== "function") serve(found);
else found.then(serve, () => fallBack());
