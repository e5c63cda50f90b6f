/**
 * Load an app file (`APP[:export]`) with no build step. On Bun and Deno, TypeScript runs as is.
 * On Node 20 a `.ts` app is bundled by esbuild into a cache file; a warm start checks file
 * stamps and imports the cached output without loading esbuild (the build half lives in
 * ./bundle.ts and is imported only on a miss).
 *
 * This module is on `cgi-run`'s warm path, where start-up is the whole cost of a request: it
 * hashes without node:crypto and reads one file per lookup. Builtins are loaded on first use:
 * Node has them in its snapshot, but Bun builds node:fs (~8 ms), node:url (~4 ms), node:path
 * and node:os (~1-2 ms each) on import, so Bun's warm path uses Bun.file and Bun.mmap instead.
 */
import { createRequire } from "node:module";
import type { App } from "../spec.ts";

const require = createRequire(import.meta.url);
let fsModule: typeof import("node:fs") | undefined;
let pathModule: typeof import("node:path") | undefined;
const fs = () => (fsModule ??= require("node:fs") as typeof import("node:fs"));
const paths = () => (pathModule ??= require("node:path") as typeof import("node:path"));
const tmpdir = () => (require("node:os") as typeof import("node:os")).tmpdir();

/** `file:` URL of a path, for import(); Bun imports a path as it is. */
export function importable(path: string): string {
  return runtime === "bun" ? path : (require("node:url") as typeof import("node:url")).pathToFileURL(path).href;
}

/** Part of every cache key: a new tsgi version never reuses an old build. */
// adapters/cgi/cgi-run-bun.js and cgi-run-node.cjs repeat it (test/cgi/cache.test.ts checks that they agree).
export const LOADER_VERSION = "tsgi-1.0.0-loader-5";

/** A user-facing load failure: the CLI prints `message` alone and exits non-zero. */
export class LoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LoadError";
  }
}

/** Split `path/to/app.ts:name` into file and export name (default export when absent). */
export function parseAppSpec(spec: string): { file: string; exportName: string } {
  const m = /^(.*\.(?:ts|mts|js|mjs|cjs|tsx|jsx)):([A-Za-z_$][\w$]*)$/.exec(spec);
  return m ? { file: m[1], exportName: m[2] } : { file: spec, exportName: "default" };
}

export const runtime: "bun" | "deno" | "node" =
  typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun"
  : typeof (globalThis as { Deno?: unknown }).Deno !== "undefined" ? "deno" : "node";

/** True when Node cannot import the file as it is. */
export function needsTranspile(path: string): boolean {
  if (runtime !== "node") return false;
  const ext = paths().extname(path);
  return ext === ".ts" || ext === ".mts" || ext === ".cts" || ext === ".tsx" || ext === ".jsx";
}

/**
 * Where transpiled apps are cached, in order of preference; the first usable one wins.
 * TSGI_CACHE_DIR, then the XDG/home cache, then a per-user folder in the temp dir: a web
 * server's user (www-data) usually has a home it cannot write.
 */
export function cacheDirs(): string[] {
  return [...eachCacheDir()];
}

/** cacheDirs() one at a time: a hit in TSGI_CACHE_DIR never looks the home folder up (no /etc/passwd read). */
function* eachCacheDir(): Generator<string> {
  const env = process.env;
  if (env.TSGI_CACHE_DIR) yield env.TSGI_CACHE_DIR;
  if (env.XDG_CACHE_HOME) yield env.XDG_CACHE_HOME + "/tsgi";
  let home = env.HOME;
  if (!home) {
    try {
      home = (require("node:os") as typeof import("node:os")).homedir();
    } catch { /* no passwd entry */ }
  }
  if (home) yield home + "/.cache/tsgi";
  yield paths().join(tmpdir(), `tsgi-cache-${uid ?? "u"}`);
}

const uid = typeof process.getuid === "function" ? process.getuid() : undefined;

/** Owned by this user (or root) and not writable by group or others. */
function ownedSafe(st: { uid: number; mode: number }): boolean {
  return st.uid === uid || st.uid === 0 ? (st.mode & 0o022) === 0 : false;
}

/**
 * A folder is safe to run cached code from when nobody else can put files in it: a real
 * folder (not a symlink), ownedSafe. This is what makes the shared temp-dir fallback safe:
 * another local user may create `/tmp/tsgi-cache-33` first.
 */
function safeDir(dir: string): boolean {
  if (uid === undefined) return true;
  try {
    const st = fs().lstatSync(dir);
    return st.isDirectory() && ownedSafe(st);
  } catch {
    return false;
  }
}

/** A cache key from the strings that identify a build (53-bit hash, twice: 26 hex digits). */
export function cacheKey(parts: string[]): string {
  const s = parts.join("\0");
  return hash53(s, 0).toString(16).padStart(14, "0") + hash53(s, 0x9e3779b9).toString(16).padStart(14, "0");
}

function hash53(s: string, seed: number): number {
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

/** The files a build read, with the stamps they had: `[path, size, mtimeMs]` (-1: size only). */
export type Inputs = [path: string, size: number, mtimeMs: number][];

interface BunFile { size: number; lastModified: number; stat(): Promise<{ uid: number; mode: number; isFile(): boolean; isDirectory(): boolean }> }
interface BunApi { file(path: string): BunFile; mmap(path: string): Uint8Array }
const Bun = (globalThis as { Bun?: BunApi }).Bun;

/**
 * A file's size and modification time, or null when it is missing. Bun reads them without
 * node:fs (Bun.file), to the millisecond (rounded down); Node to the fraction statSync gives.
 * A cache entry is only ever checked by the runtime that built it (the runtime is part of its key).
 */
export function fileStamp(path: string): [size: number, mtimeMs: number] | null {
  const stamp = statStamp(path);
  return typeof stamp === "string" ? null : stamp;
}

/** A file's `[size, mtimeMs]`, or the code of the error its stat gave ("ENOENT": missing). */
export type Stat = [size: number, mtimeMs: number] | string;

/** fileStamp, with the error code on failure. */
function statStamp(path: string): Stat {
  if (Bun !== undefined) {
    const f = Bun.file(path);
    const size = f.size;
    // Bun reports a missing file as size 0 and a huge lastModified; tell it from an empty file.
    if (size === 0) {
      const st = nodeStamp(path);
      if (typeof st === "string") return st;
    }
    return [size, f.lastModified];
  }
  return nodeStamp(path);
}

/** statStamp through node:fs on every runtime: the mtime to the fraction stat gives. */
export function nodeStamp(path: string): Stat {
  try {
    const st = fs().statSync(path);
    return [st.size, st.mtimeMs];
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? "EIO";
  }
}

export const STAMP = "// tsgi-inputs ";
/** First line of a cached build meant for Bun: the file is plain JS, Bun's transpiler may skip it. */
export const BUN_PRAGMA = "// @bun\n";
/** First line of a Bun build that is the body of an async function, not a module (bundleCgi's "fn"). */
export const BUN_FN_HEAD = "// tsgi-bun-fn\n";
/** The same for Node: adapters/cgi/cgi-run-node.cjs runs it with no ES module loaded. */
export const NODE_FN_HEAD = "// tsgi-node-fn\n";
const isHead = (line: string) => line === BUN_PRAGMA || line === BUN_FN_HEAD || line === NODE_FN_HEAD;
// The stamp line is JSON with \u escapes for non-ASCII (see storeCached), so Latin-1 is exact.
const latin1 = new TextDecoder("latin1");

/**
 * The cached build named `name` (`<key>.mjs`) if one of the cache folders has it and every
 * input it was built from is unchanged; else null. The stamp is the file's first line (after
 * BUN_PRAGMA, BUN_FN_HEAD or NODE_FN_HEAD, if any), so a build and its stamp are one file, replaced atomically.
 */
export async function findCached(name: string): Promise<string | null> {
  if (Bun !== undefined) return findCachedBun(Bun, name);
  for (const dir of eachCacheDir()) {
    const file = paths().join(dir, name);
    let fd: number;
    try {
      fd = fs().openSync(file, "r");
    } catch {
      continue;
    }
    try {
      if (uid !== undefined && !ownedSafe(fs().fstatSync(fd))) continue;
      if (!safeDir(dir)) continue;
      if (stampState(stampLine(fd)) === "fresh") return file;
    } finally {
      fs().closeSync(fd);
    }
  }
  return null;
}

/**
 * findCached on Bun, with no node:fs: the same checks through Bun.file().stat() (run in
 * parallel: each is a round trip to Bun's thread pool) and the stamp read from Bun.mmap.
 * Bun's stat follows symlinks, so a folder whose parent others can write to (where a
 * symlink could have been planted: /tmp) is checked once more with lstat (node:fs).
 */
async function findCachedBun(bun: BunApi, name: string): Promise<string | null> {
  for (const dir of eachCacheDir()) {
    const file = dir + "/" + name;
    if (bun.file(file).size === 0) continue; // missing (an entry is never empty)
    if (uid !== undefined) {
      const parent = dir.replace(/\/+[^/]+\/*$/, "") || "/";
      const stat = (p: string) => bun.file(p).stat().catch(() => null);
      const [f, d, up] = await Promise.all([stat(file), stat(dir), stat(parent)]);
      if (f === null || !f.isFile() || !ownedSafe(f) || d === null || !d.isDirectory() || !ownedSafe(d)) continue;
      if ((up === null || !ownedSafe(up)) && !safeDir(dir)) continue;
    }
    let bytes: Uint8Array;
    try {
      bytes = bun.mmap(file);
    } catch {
      continue;
    }
    let nl = bytes.indexOf(10);
    let at = 0;
    if (isHead(latin1.decode(bytes.subarray(0, nl + 1)))) {
      at = nl + 1;
      nl = bytes.indexOf(10, at);
    }
    if (nl > at && stampState(latin1.decode(bytes.subarray(at, nl))) === "fresh") return file;
  }
  return null;
}

/** The line that starts at byte `at` of `fd` (without its newline) and where the next one starts. */
function lineAt(fd: number, at: number): { line: string; next: number } {
  let line = "";
  const buf = new Uint8Array(16384);
  for (let pos = at; ;) {
    const n = fs().readSync(fd, buf, 0, buf.length, pos);
    const nl = buf.subarray(0, n).indexOf(10);
    if (nl >= 0) return { line: line + latin1.decode(buf.subarray(0, nl)), next: pos + nl + 1 };
    line += latin1.decode(buf.subarray(0, n));
    pos += n;
    if (n === 0) return { line, next: pos };
  }
}

/** The stamp line of the cache entry open as `fd`: its first line, or its second after a head (isHead). */
export function stampLine(fd: number): string {
  const first = lineAt(fd, 0);
  return isHead(first.line + "\n") ? lineAt(fd, first.next).line : first.line;
}

/**
 * What a cache entry's stamp line says of its inputs on disk; each caller decides what to do:
 * the warm path uses an entry only when "fresh", the pruner removes it only when "stale".
 * - "fresh": every input has the size and mtime it was stamped with;
 * - "near": the same, but an mtime is off by less than 1 ms, which is no edit: Bun stamps to
 *   the millisecond and Node to the fraction, and either may prune the other's entries in a
 *   shared folder (the warm path rebuilds on it: its own runtime's stamps match exactly);
 * - "stale": an input is gone, has another size, or an mtime 1 ms or more away;
 * - "unknown": no stamp, a stamp that is not `[[path, size, mtime], ...]` (another version's
 *   format, say), or an input this user may not stat (another user's app): cannot tell.
 * Inputs are checked in order and the first that is stale or unknown decides. `stat` is how
 * an input is looked at: statStamp (Bun.file on Bun), or nodeStamp for the mtime's fraction.
 */
export function stampState(line: string, stat: (path: string) => Stat = statStamp): "fresh" | "near" | "stale" | "unknown" {
  if (!line.startsWith(STAMP)) return "unknown";
  let inputs: unknown;
  try {
    inputs = JSON.parse(line.slice(STAMP.length));
  } catch {
    return "unknown";
  }
  if (!Array.isArray(inputs)) return "unknown";
  let state: "fresh" | "near" = "fresh";
  for (let i = 0; i < inputs.length; i++) {
    const input: unknown = inputs[i];
    if (!Array.isArray(input) || typeof input[0] !== "string" || typeof input[1] !== "number" || typeof input[2] !== "number") return "unknown";
    const now = stat(input[0]);
    if (typeof now === "string") return now === "ENOENT" || now === "ENOTDIR" ? "stale" : "unknown";
    const mtime = input[2];
    if (now[0] !== input[1]) return "stale";
    if (mtime !== -1 && now[1] !== mtime) {
      if (Math.abs(now[1] - mtime) >= 1) return "stale";
      state = "near";
    }
  }
  return state;
}

/**
 * Store `code` as the cache entry `name` in the first safe, writable cache folder and return
 * its path (`head`, such as BUN_PRAGMA, goes before the stamp line). Two processes filling
 * the same entry at once each write a temp file and rename it over the entry: a reader sees
 * one whole build or the other, both valid. When no folder can be used, a private temp folder
 * serves this one process (the request never fails for it).
 */
export function storeCached(name: string, code: string, inputs: Inputs, head = ""): { file: string; temporary: boolean } {
  const text = head + STAMP + JSON.stringify(inputs).replace(/[\u0080-\uffff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0")) + "\n" + code;
  const { mkdirSync, renameSync, unlinkSync, writeFileSync } = fs();
  for (const dir of eachCacheDir()) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      if (!safeDir(dir)) continue;
      const file = paths().join(dir, name);
      const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
      writeFileSync(tmp, text, { mode: 0o600 });
      try {
        renameSync(tmp, file);
      } catch (err) {
        try {
          unlinkSync(tmp);
        } catch { /* gone */ }
        throw err;
      }
      return { file, temporary: false };
    } catch {
      // Not writable (an unprivileged web server user): try the next place.
    }
  }
  return { file: privateCopy(name, text), temporary: true };
}

function privateCopy(name: string, text: string): string {
  const dir = paths().join(tmpdir(), `tsgi-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  try {
    fs().mkdirSync(dir, { mode: 0o700 });
    const file = paths().join(dir, name);
    fs().writeFileSync(file, text, { mode: 0o600 });
    return file;
  } catch {
    throw new LoadError(`cannot write the transpiled app anywhere (tried ${cacheDirs().join(", ")} and ${tmpdir()}); set TSGI_CACHE_DIR to a folder this user can write`);
  }
}

/** Resolve `file` and check it is a readable file; LoadError otherwise. */
export function appPath(file: string): string {
  return appFile(file).path;
}

/**
 * appPath() with the file's stamp (fileStamp: its size and mtime key cgi-run's cache).
 * `quick` (Bun's warm path): no check that it is a file, which Bun cannot do without an
 * async stat or node:fs; a cache hit proves it, and a miss checks again without `quick`.
 */
export function appFile(file: string, quick = false): { path: string; size: number; mtimeMs: number } {
  // An absolute, already normal path (what a web server passes) needs no node:path.
  const path = file.startsWith("/") && !/\/\.{0,2}(\/|$)/.test(file) ? file : paths().resolve(file);
  const stamp = quick ? fileStamp(path) : null;
  if (stamp !== null) return { path, size: stamp[0], mtimeMs: stamp[1] };
  let st;
  try {
    st = fs().statSync(path);
  } catch {
    throw new LoadError(`app file ${file} not found (looked at ${path})`);
  }
  if (!st.isFile()) throw new LoadError(`app file ${file} is not a file`);
  const [size, mtimeMs] = fileStamp(path) ?? [st.size, st.mtimeMs];
  return { path, size, mtimeMs };
}

/** Load the module at `spec` and return its app export, checked to be a tsgi app. */
export async function loadApp(spec: string): Promise<App> {
  const { file, exportName } = parseAppSpec(spec);
  const path = appPath(file);
  const url = importable(needsTranspile(path) ? await transpiled(path) : path);
  let mod: Record<string, unknown>;
  try {
    mod = await import(url);
  } catch (err) {
    throw new LoadError(`app file ${file} failed to load: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!(exportName in mod)) {
    const names = Object.keys(mod).join(", ") || "none";
    throw new LoadError(`app file ${file} has no export "${exportName}" (its exports: ${names})`);
  }
  const app = mod[exportName];
  const { appKind } = await import("../kind.ts");
  try {
    appKind(app);
  } catch (err) {
    throw new LoadError(`export "${exportName}" of ${file} is not a tsgi app: ${(err as Error).message}`);
  }
  return app as App;
}

/**
 * The cached ES module of a TS app (its local imports inlined, packages left as imports), for
 * long-running servers; rebuilt when any bundled input file changed.
 */
export async function transpiled(path: string): Promise<string> {
  const st = fs().statSync(path);
  const name = cacheKey([LOADER_VERSION, "app", path, String(st.size), String(st.mtimeMs)]) + ".mjs";
  const hit = await findCached(name);
  if (hit !== null) return hit;
  const { bundleApp, pruneCache } = await import("./bundle.ts");
  const { code, inputs } = await bundleApp(path);
  const stored = storeCached(name, code, inputs);
  if (!stored.temporary) pruneCache(stored.file.slice(0, stored.file.lastIndexOf("/")), name);
  return stored.file;
}
