/**
 * Load an app file (`APP[:export]`) with no build step. On Bun and Deno, TypeScript runs as is.
 * On Node 20 a `.ts` app is bundled by esbuild into a cache file; a warm start checks file
 * stamps and imports the cached output without loading esbuild (the build half lives in
 * ./bundle.ts and is imported only on a miss).
 *
 * This module is on `cgi-run`'s warm path, where start-up is the whole cost of a request: it
 * imports only builtins the runtime has loaded already, hashes without node:crypto and reads
 * one file per lookup.
 */
import { closeSync, fstatSync, lstatSync, mkdirSync, openSync, readSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { App } from "../spec.ts";

/** Part of every cache key: a new tsgi version never reuses an old build. */
export const LOADER_VERSION = "tsgi-1.0.0-loader-2";

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
  const ext = extname(path);
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
  if (env.XDG_CACHE_HOME) yield join(env.XDG_CACHE_HOME, "tsgi");
  let home = env.HOME;
  if (!home) {
    try {
      home = homedir();
    } catch { /* no passwd entry */ }
  }
  if (home) yield join(home, ".cache", "tsgi");
  yield join(tmpdir(), `tsgi-cache-${uid ?? "u"}`);
}

const uid = typeof process.getuid === "function" ? process.getuid() : undefined;

/**
 * A folder is safe to run cached code from when nobody else can put files in it: owned by
 * this user (or root) and not writable by group or others. This is what makes the shared
 * temp-dir fallback safe: another local user may create `/tmp/tsgi-cache-33` first.
 */
function safeDir(dir: string): boolean {
  if (uid === undefined) return true;
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && (st.uid === uid || st.uid === 0) && (st.mode & 0o022) === 0;
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

const STAMP = "// tsgi-inputs ";
/** First line of a cached build meant for Bun: the file is plain JS, Bun's transpiler may skip it. */
export const BUN_PRAGMA = "// @bun\n";
// The stamp line is JSON with \u escapes for non-ASCII (see storeCached), so Latin-1 is exact.
const latin1 = new TextDecoder("latin1");

/**
 * The cached build named `name` (`<key>.mjs`) if one of the cache folders has it and every
 * input it was built from is unchanged; else null. The stamp is the file's first line (after
 * BUN_PRAGMA, if any), so a build and its stamp are one file, replaced atomically.
 */
export function findCached(name: string): string | null {
  for (const dir of eachCacheDir()) {
    const file = join(dir, name);
    let fd: number;
    try {
      fd = openSync(file, "r");
    } catch {
      continue;
    }
    try {
      if (uid !== undefined) {
        const st = fstatSync(fd);
        if (st.uid !== uid || (st.mode & 0o022) !== 0) continue;
      }
      if (!safeDir(dir)) continue;
      let first = lineAt(fd, 0);
      if (first.line + "\n" === BUN_PRAGMA) first = lineAt(fd, first.next);
      if (freshStamp(first.line)) return file;
    } finally {
      closeSync(fd);
    }
  }
  return null;
}

/** The line that starts at byte `at` of `fd` (without its newline) and where the next one starts. */
function lineAt(fd: number, at: number): { line: string; next: number } {
  let line = "";
  const buf = new Uint8Array(16384);
  for (let pos = at; ;) {
    const n = readSync(fd, buf, 0, buf.length, pos);
    const nl = buf.subarray(0, n).indexOf(10);
    if (nl >= 0) return { line: line + latin1.decode(buf.subarray(0, nl)), next: pos + nl + 1 };
    line += latin1.decode(buf.subarray(0, n));
    pos += n;
    if (n === 0) return { line, next: pos };
  }
}

function freshStamp(line: string): boolean {
  if (!line.startsWith(STAMP)) return false;
  let inputs: Inputs;
  try {
    inputs = JSON.parse(line.slice(STAMP.length)) as Inputs;
  } catch {
    return false;
  }
  for (let i = 0; i < inputs.length; i++) {
    const [p, size, mtime] = inputs[i];
    try {
      const s = statSync(p);
      if (s.size !== size || (mtime !== -1 && s.mtimeMs !== mtime)) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * Store `code` as the cache entry `name` in the first safe, writable cache folder and return
 * its path (`head`, such as BUN_PRAGMA, goes before the stamp line). Two processes filling
 * the same entry at once each write a temp file and rename it over the entry: a reader sees one whole build or the other, both valid. When no folder can
 * be used, a private temp folder serves this one process (the request never fails for it).
 */
export function storeCached(name: string, code: string, inputs: Inputs, head = ""): { file: string; temporary: boolean } {
  const text = head + STAMP + JSON.stringify(inputs).replace(/[\u0080-\uffff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0")) + "\n" + code;
  for (const dir of eachCacheDir()) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      if (!safeDir(dir)) continue;
      const file = join(dir, name);
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
  const dir = join(tmpdir(), `tsgi-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
    const file = join(dir, name);
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  } catch {
    throw new LoadError(`cannot write the transpiled app anywhere (tried ${cacheDirs().join(", ")} and ${tmpdir()}); set TSGI_CACHE_DIR to a folder this user can write`);
  }
}

/** Resolve `file` and check it is a readable file; LoadError otherwise. */
export function appPath(file: string): string {
  return appFile(file).path;
}

/** appPath() with the file's stat (size and mtime key cgi-run's cache). */
export function appFile(file: string): { path: string; size: number; mtimeMs: number } {
  const path = resolve(file);
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new LoadError(`app file ${file} not found (looked at ${path})`);
  }
  if (!st.isFile()) throw new LoadError(`app file ${file} is not a file`);
  return { path, size: st.size, mtimeMs: st.mtimeMs };
}

/** Load the module at `spec` and return its app export, checked to be a tsgi app. */
export async function loadApp(spec: string): Promise<App> {
  const { file, exportName } = parseAppSpec(spec);
  const path = appPath(file);
  const url = needsTranspile(path) ? pathToFileURL(await transpiled(path)).href : pathToFileURL(path).href;
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
  const st = statSync(path);
  const name = cacheKey([LOADER_VERSION, "app", path, String(st.size), String(st.mtimeMs)]) + ".mjs";
  const hit = findCached(name);
  if (hit !== null) return hit;
  const { bundleApp } = await import("./bundle.ts");
  const { code, inputs } = await bundleApp(path);
  return storeCached(name, code, inputs).file;
}
