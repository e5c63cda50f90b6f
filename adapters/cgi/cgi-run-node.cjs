#!/usr/bin/env node
"use strict";
/**
 * The `cgi-run` command on Node (package.json "bin"), and its warm path, in CommonJS: an ES
 * module entry costs Node 20 ~15 ms of a ~80 ms CGI start for its module loader alone, and a
 * warm request needs none. This file finds the program src/cli/cgi-run.ts cached for the app,
 * checks it as src/cli/loader.ts does (the same key, folders, owner and stamp checks, repeated
 * here: test/cgi/cache.test.ts fails when the two disagree), compiles it as a function and
 * runs it. Anything else (a miss, a stale entry, flags, an `app.ts:export` argument, an entry
 * that is an ES module) goes to cgi-run.ts, which builds, stores and runs.
 */
const fs = require("node:fs");
const path = require("node:path");

// httpoxy: see src/cli/cgi-run.ts.
if (process.env.GATEWAY_INTERFACE !== undefined || process.env.REQUEST_METHOD !== undefined) delete process.env.HTTP_PROXY;

// = LOADER_VERSION, NODE_FN_HEAD and STAMP in src/cli/loader.ts.
const VERSION = "tsgi-1.0.0-loader-5";
const FN_HEAD = "// tsgi-node-fn";
const STAMP = "// tsgi-inputs ";

const uid = typeof process.getuid === "function" ? process.getuid() : undefined;

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

/** Cache folders as loader.ts's eachCacheDir names them, in its order. */
function* cacheDirs() {
  const env = process.env;
  const os = require("node:os");
  if (env.TSGI_CACHE_DIR) yield env.TSGI_CACHE_DIR;
  if (env.XDG_CACHE_HOME) yield env.XDG_CACHE_HOME + "/tsgi";
  let home = env.HOME;
  if (!home) {
    try {
      home = os.homedir(); // a web server passes no HOME: the passwd entry's
    } catch { /* no passwd entry */ }
  }
  if (home) yield home + "/.cache/tsgi";
  yield path.join(os.tmpdir(), `tsgi-cache-${uid ?? "u"}`);
}

/** Owned by this user (or root) and not writable by group or others. */
const ownedSafe = (st) => uid === undefined || ((st.uid === uid || st.uid === 0) && (st.mode & 0o022) === 0);

/**
 * The cached program for the app at `spec` as a function that runs it, or null when cgi-run.ts
 * must take over. The entry is opened once: its owner is checked on the open file, the folder
 * with lstat (not a symlink in its place), and what was checked is what runs.
 */
function warm(spec) {
  if (typeof spec !== "string" || spec === "" || spec[0] === "-" || spec.lastIndexOf(":") > spec.lastIndexOf("/")) return null;
  const app = path.resolve(spec);
  const st = fs.statSync(app, { throwIfNoEntry: false });
  if (st === undefined || !st.isFile()) return null; // cgi-run.ts says what is wrong
  const name = cacheKey(VERSION + "\0cgi\0node\0" + app + "\0default\0" + st.size + "\0" + st.mtimeMs) + ".mjs";
  for (const dir of cacheDirs()) {
    let fd;
    try {
      fd = fs.openSync(dir + "/" + name, "r");
    } catch {
      continue;
    }
    try {
      if (!ownedSafe(fs.fstatSync(fd))) continue;
      const d = fs.lstatSync(dir, { throwIfNoEntry: false });
      if (d === undefined || !d.isDirectory() || !ownedSafe(d)) continue;
      return program(fs.readFileSync(fd, "utf8"), app, dir + "/" + name);
    } finally {
      fs.closeSync(fd);
    }
  }
  return null;
}

/** The entry's program, ready to run, when it is a NODE_FN_HEAD entry whose stamp is fresh (or not checked); else null. */
function program(text, app, file, checkStamp = true) {
  const nl1 = text.indexOf("\n");
  const nl2 = text.indexOf("\n", nl1 + 1);
  if (nl1 < 0 || nl2 < 0 || text.slice(0, nl1) !== FN_HEAD || (checkStamp && !fresh(text.slice(nl1 + 1, nl2)))) return null;
  // The body of an async function (bundleCgi's "fn" format) ending in `await runCgiModule(...)`.
  const AsyncFunction = (async () => {}).constructor;
  const run = new AsyncFunction("__tsgiRequire", "require", text.slice(nl2 + 1) + "\n//# sourceURL=" + file);
  let appRequire;
  const fromApp = (id) => (appRequire ??= require("node:module").createRequire(app))(id);
  fromApp.resolve = (id, options) => (appRequire ??= require("node:module").createRequire(app)).resolve(id, options);
  return () => run(require, fromApp);
}

/** loader.ts's stampState(line) === "fresh": every input has the size and mtime it was stamped with (-1: size only). */
function fresh(line) {
  if (!line.startsWith(STAMP)) return false;
  let inputs;
  try {
    inputs = JSON.parse(line.slice(STAMP.length));
  } catch {
    return false;
  }
  if (!Array.isArray(inputs)) return false;
  for (const input of inputs) {
    if (!Array.isArray(input) || typeof input[0] !== "string" || typeof input[1] !== "number" || typeof input[2] !== "number") return false;
    const st = fs.statSync(input[0], { throwIfNoEntry: false });
    if (st === undefined || st.size !== input[1] || (input[2] !== -1 && st.mtimeMs !== input[2])) return false;
  }
  return true;
}

/** cgi-run.ts, the whole command: builds, stores and runs (it runs a NODE_FN_HEAD build through runProgram). */
function fallBack() {
  return import(require("node:url").pathToFileURL(path.join(__dirname, "../../dist/src/cli/cgi-run.js")).href);
}

async function failed(err, spec) {
  const { failCgi } = await import(require("node:url").pathToFileURL(path.join(__dirname, "../../dist/adapters/cgi/run.js")).href);
  await failCgi(`app file ${spec} failed to load: ${err instanceof Error ? err.stack : String(err)}`);
}

/**
 * Run the entry `file` for `app` when it is a NODE_FN_HEAD one: cgi-run.ts calls it with the
 * entry it has just checked or stored. Its promise, or false for an entry of another format.
 */
function runProgram(file, app) {
  const run = program(fs.readFileSync(file, "utf8"), app, file, false);
  return run === null ? false : run();
}

module.exports = { runProgram };

if (require.main === module) {
  const spec = process.argv[2];
  let run = null;
  try {
    run = warm(spec);
  } catch {
    run = null; // an unreadable entry, a program that does not compile: cgi-run.ts reports it
  }
  if (run === null) fallBack();
  else {
    // The program serves the request and exits.
    run().catch((err) => failed(err, spec));
  }
}
