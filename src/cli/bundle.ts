/**
 * The build half of the loader (./loader.ts): esbuild turns a TS app into one ES module.
 * Imported only on a cache miss, so a warm start never loads esbuild.
 */
import { closeSync, constants, lstatSync, openSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Plugin, PluginBuild } from "esbuild";
import { fileStamp, LoadError, nodeStamp, stampLine, stampState, type Inputs } from "./loader.ts";

/** The tsgi package's root folder (this file is src/cli/bundle.ts or dist/src/cli/bundle.js). */
const here = dirname(fileURLToPath(import.meta.url));
const COMPILED = here.endsWith("/dist/src/cli");
const PACKAGE_ROOT = resolve(here, COMPILED ? "../../.." : "../..");

/**
 * An app for long-running servers: its local imports inlined, packages left as imports
 * (resolved from the app's folder, then from tsgi's own dependencies).
 */
export async function bundleApp(path: string): Promise<{ code: string; inputs: Inputs }> {
  return build({ entryPoints: [path] }, path);
}

/**
 * A self-contained CGI program: the app, everything it imports (packages too) and the CGI
 * runner in one file, so a warm start reads and compiles one file. Falls back to leaving
 * packages as imports when a package cannot be bundled.
 *
 * Formats: "fn" when nothing is left to import (the usual case): the code is the body of an
 * async function, which cgi-run's front for the runtime (adapters/cgi/cgi-run-node.cjs,
 * adapters/cgi/cgi-run-bun.js) compiles and calls with `__tsgiRequire` (the front's require)
 * and `require` (the app's); builtins (node:*, bun:*) become calls of __tsgiRequire (on Bun,
 * tsgi's own node:fs/os/path/url lazy ones: lazyBuiltins). No ES module is loaded on the warm path:
 * on Node 20 the ESM loader alone costs ~15 ms of a ~80 ms start, and Bun compiles a function
 * ~3 ms faster than it imports the same code. Otherwise an ES module: "esm" on Bun (with
 * what the stand-ins call defined first), "node" on Node.
 */
export async function bundleCgi(path: string, exportName: string, label: string, bun = false): Promise<{ code: string; inputs: Inputs; format: "fn" | "esm" | "node" }> {
  const runner = join(PACKAGE_ROOT, COMPILED ? "dist/adapters/cgi/run.js" : "adapters/cgi/run.ts");
  // The runner is imported first, so its httpoxy clean-up runs before any package's top level.
  const entry = [
    `import { runCgiModule } from ${JSON.stringify(runner)};`,
    `import * as mod from ${JSON.stringify(path)};`,
    `await runCgiModule(mod, ${JSON.stringify(exportName)}, ${JSON.stringify(label)});`,
  ].join("\n");
  const stdin = { contents: entry, resolveDir: dirname(path), sourcefile: "cgi-entry.mjs", loader: "js" as const };
  for (const inline of [true, false]) {
    // The stand-ins only pay on Bun, whose builtins cost milliseconds to load (Node's are in its snapshot).
    for (const lazyNow of bun ? [true, false] : [false]) {
      try {
        const out = await build({ stdin }, path, { inline, lazy: lazyNow, fn: true, bun });
        // Strict, as the module it was built as.
        if (out.imports === 0 && !/\bimport\.meta\b/.test(out.code)) return { ...out, code: `"use strict";\n${out.code}`, format: "fn" };
        // Imports left (packages not inlined) or import.meta: a module, with what the stand-ins
        // and bundled CommonJS packages call defined first.
        if (bun) return { ...out, code: `var __tsgiRequire = import.meta.require;\n${inline ? requireBanner(path) + "\n" : ""}${out.code}`, format: "esm" };
        return { ...(await build({ stdin }, path, { inline, lazy: false, fn: false, bun })), format: "node" };
      } catch (err) {
        // A package that cannot be bundled, or a tsgi import the lazy stand-ins lack: go plainer.
        if (!(err instanceof PackageError) && !(lazyNow && err instanceof LoadError)) throw err;
      }
    }
  }
  throw new LoadError(`cannot compile ${path}`);
}

class PackageError extends Error {}

const requireBanner = (path: string) => `import { createRequire as __tsgiCreateRequire } from "node:module"; const require = __tsgiCreateRequire(${JSON.stringify(pathToFileURL(path).href)});`;

/**
 * How a build treats imports. `inline`: packages bundled (else left as imports); `lazy`: tsgi's
 * own node:fs/os/path/url stand-ins; `fn`: every builtin a __tsgiRequire call (the "fn" format);
 * `bun`: Bun's own import.meta names kept too.
 */
interface BuildMode {
  inline: boolean;
  lazy: boolean;
  fn: boolean;
  bun: boolean;
}

async function build(input: { entryPoints: string[] } | { stdin: { contents: string; resolveDir: string; sourcefile: string; loader: "js" } }, path: string, mode: BuildMode = { inline: false, lazy: false, fn: false, bun: false }): Promise<{ code: string; inputs: Inputs; imports: number }> {
  const { inline: inlinePackages, lazy, fn, bun } = mode;
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    ...input,
    bundle: true,
    write: false,
    format: "esm",
    platform: "node",
    target: "node20",
    metafile: true,
    logLevel: "silent",
    // CommonJS packages bundled into an ES module still call require() for builtins.
    // (In the "fn" format the front passes that `require`, and builtins are __tsgiRequire calls.)
    banner: inlinePackages && !fn ? { js: requireBanner(path) } : undefined,
    plugins: [...(lazy ? [lazyBuiltins()] : []), ...(fn ? [requireBuiltins()] : []), resolvePackages(inlinePackages), keepFileLocations(bun)],
  }).catch((err: { errors?: { text: string; location?: { file: string; line: number } | null; pluginName?: string }[] }) => {
    const e = err.errors?.[0];
    const where = e?.location ? `${e.location.file}:${e.location.line}: ` : "";
    if (inlinePackages && e?.location?.file.includes("node_modules")) throw new PackageError(e.text);
    throw new LoadError(`cannot compile ${path}: ${e ? where + e.text : String(err)}`);
  });
  const inputs: Inputs = [];
  for (const rel of Object.keys(result.metafile!.inputs)) {
    if (rel === "<stdin>" || rel.endsWith("cgi-entry.mjs")) continue;
    if (rel.startsWith("tsgi-lazy:") || rel.startsWith("tsgi-builtin:")) continue;
    const p = resolve(rel);
    const [size, mtimeMs] = fileStamp(p) ?? [statSync(p).size, 0];
    inputs.push([p, size, ownFile(p) ? -1 : mtimeMs]);
  }
  // The entry file first: a quick reject when the app itself changed.
  inputs.sort((a, b) => (a[0] === path ? -1 : b[0] === path ? 1 : 0));
  const imports = Object.values(result.metafile!.outputs)[0]?.imports.filter((i) => i.external).length ?? 0;
  return { code: result.outputFiles![0].text, inputs, imports };
}

/**
 * How old (by mtime) a cache file must be before pruneCache removes it: a request that has
 * just read an entry, a racing cold start's temp file and a bytecode build in progress are
 * all younger. (Unlinking a file a reader has open or mapped would not hurt it on Linux.)
 */
export const PRUNE_GRACE_MS = 60_000;

// The names tsgi gives the files of a cache folder (loader.ts's storeCached, the Bun front's
// sidecar() and bun-bytecode.js's temp folder); nothing else in the folder is touched.
const ENTRY = /^[0-9a-f]{28}\.mjs$/;
const SIDECAR = /^([0-9a-f]{28})\.[0-9a-z]+\.cjs(?:\.jsc)?$/;
const TEMP_FILE = /^[0-9a-f]{28}\.mjs\.\d+\.\d+\.tmp$/;
const TEMP_DIR = /^\.tsgi-bc-[A-Za-z0-9]{6}$/;

/**
 * Remove what a cache miss left useless in cache folder `dir` (docs/cgi.md, "Pruning"):
 * entries whose stamp names an input that changed or is gone, sidecars whose entry is gone,
 * and temp files; only regular files (folders, for bytecode temp folders) older than the
 * grace, never through a symlink, never `keep` (the entry just stored). Run on a miss only,
 * which has just paid for a build: a warm start never lists the folder. Never throws; a file
 * that cannot be removed for any reason but a racing pruner is worth one line in the error
 * log (the cache would grow again), not a failed request.
 */
export function pruneCache(dir: string, keep: string): void {
  let trouble: string | null = null;
  const note = (name: string, err: unknown) => {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") trouble ??= `${name}: ${(err as Error).message}`;
  };
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    note(".", err);
    names = [];
  }
  const old = Date.now() - PRUNE_GRACE_MS;
  const kept = new Set<string>();
  const oldFile = (name: string, folder = false) => {
    try {
      const st = lstatSync(dir + "/" + name);
      return (folder ? st.isDirectory() : st.isFile()) && st.mtimeMs < old;
    } catch (err) {
      note(name, err);
      return false;
    }
  };
  const remove = (name: string, folder = false) => {
    try {
      if (folder) rmSync(dir + "/" + name, { recursive: true });
      else unlinkSync(dir + "/" + name);
      return true;
    } catch (err) {
      note(name, err);
      return false;
    }
  };
  for (const name of names) {
    if (!ENTRY.test(name)) continue;
    if (name === keep || !oldFile(name) || !staleEntry(dir + "/" + name) || !remove(name)) kept.add(name);
  }
  for (const name of names) {
    const side = SIDECAR.exec(name);
    if (side !== null && !kept.has(side[1] + ".mjs") && oldFile(name)) remove(name);
    else if (TEMP_FILE.test(name) && oldFile(name)) remove(name);
    else if (TEMP_DIR.test(name) && oldFile(name, true)) remove(name, true);
  }
  if (trouble !== null) {
    try {
      // node:fs, not process.stderr: Bun builds its stream on first use (~10 ms).
      writeSync(2, `tsgi: could not prune stale files from the cache folder ${dir} (${trouble})\n`);
    } catch { /* no stderr */ }
  }
}

/**
 * True when the entry's stamp (loader.ts's stampState) names an input that is gone or changed.
 * An entry that cannot be read, or whose state is "unknown" or "near" (see stampState), is left
 * alone: its own next miss replaces it. The inputs are stat'ed through node:fs on Bun too: a
 * Node stamp's mtime fraction must meet the fraction stat gives, not Bun's whole milliseconds.
 */
function staleEntry(file: string): boolean {
  let line: string;
  try {
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      line = stampLine(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
  return stampState(line, nodeStamp) === "stale";
}

/**
 * tsgi's own modules are pinned by the tsgi version in the cache key and by their size, not
 * their mtime: a rebuild or reinstall of the same version rewrites them all and must not
 * throw every cached app away.
 */
function ownFile(path: string): boolean {
  const rel = path.slice(PACKAGE_ROOT.length);
  return path.startsWith(PACKAGE_ROOT) && (rel.startsWith("/dist/src/") || rel.startsWith("/dist/adapters/") || rel.startsWith("/src/") || rel.startsWith("/adapters/"));
}

/** `tsgi` and `tsgi/*` name this package's own exports, so an app in cgi-bin needs no node_modules. */
function selfExport(spec: string): string | null {
  if (spec !== "tsgi" && !spec.startsWith("tsgi/")) return null;
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { exports: Record<string, { default: string }> };
  const entry = pkg.exports["." + spec.slice(4)];
  if (!entry) return null;
  const compiled = join(PACKAGE_ROOT, entry.default);
  if (COMPILED) return compiled;
  return compiled.replace(`${PACKAGE_ROOT}/dist/`, `${PACKAGE_ROOT}/`).replace(/\.js$/, ".ts");
}

/**
 * Bare imports: resolved from the importing file's folder as Node would, then from tsgi's own
 * folder (hono is a tsgi dependency). Inlined, or kept as absolute imports.
 */
function resolvePackages(inline: boolean): Plugin {
  return {
    name: "tsgi-packages",
    setup(b: PluginBuild) {
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === "inner" || args.path.startsWith("node:")) return undefined;
        const self = selfExport(args.path);
        if (self !== null) return inline ? { path: self } : { path: self, external: true };
        const opts = { kind: args.kind, pluginData: "inner" };
        let r = await b.resolve(args.path, { ...opts, resolveDir: args.resolveDir });
        if (r.errors.length > 0) {
          const fromTsgi = await b.resolve(args.path, { ...opts, resolveDir: PACKAGE_ROOT });
          if (fromTsgi.errors.length > 0) return { errors: r.errors };
          r = fromTsgi;
        }
        if (r.external) return { path: args.path, external: true };
        return inline ? { path: r.path } : { path: r.path, external: true };
      });
    },
  };
}

/**
 * `import.meta.url` (and `__dirname`/`__filename` in CommonJS) keep naming the original file
 * rather than the cache file, so an app can still read files that sit next to it.
 */
function keepFileLocations(bun: boolean): Plugin {
  return {
    name: "tsgi-file-locations",
    setup(b: PluginBuild) {
      b.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, (args) => {
        let code = readFileSync(args.path, "utf8");
        const ext = extname(args.path);
        const loader = ext === ".tsx" ? "tsx" : ext === ".jsx" ? "jsx" : ext.endsWith("ts") ? "ts" : "js";
        if (code.includes("import.meta")) {
          const url = JSON.stringify(pathToFileURL(args.path).href);
          code = code
            .replace(/\bimport\.meta\.url\b/g, url)
            .replace(/\bimport\.meta\.filename\b/g, JSON.stringify(args.path))
            .replace(/\bimport\.meta\.dirname\b/g, JSON.stringify(dirname(args.path)));
          // Bun's own names for the same (undefined under Node, so only in Bun's build).
          if (bun) {
            code = code
              .replace(/\bimport\.meta\.path\b/g, JSON.stringify(args.path))
              .replace(/\bimport\.meta\.dir\b/g, JSON.stringify(dirname(args.path)))
              .replace(/\bimport\.meta\.file\b/g, JSON.stringify(args.path.slice(args.path.lastIndexOf("/") + 1)));
          }
        }
        if (/\b__(dirname|filename)\b/.test(code) && !/\bimport\b[^;]*\bfrom\b|\bexport\b/.test(code.slice(0, 4096))) {
          code = `var __filename = ${JSON.stringify(args.path)}, __dirname = ${JSON.stringify(dirname(args.path))};\n` + code;
        }
        return { contents: code, loader };
      });
    },
  };
}

const LAZY = /^(?:node:)?(fs|os|path|url)$/;

/**
 * Bun builds node:fs, node:os, node:path and node:url when they are imported, ~15 ms of a CGI
 * hello's start together, and tsgi needs them only off the common path (a request body, a
 * spooled upload, a raw environment). In a Bun CGI bundle, tsgi's own imports of them get a
 * stand-in whose functions load the real module on their first call. Only plain functions are
 * stood in for; a tsgi file importing anything else fails this build, which bundleCgi then
 * redoes without the stand-ins. An app's and its packages' imports are left alone.
 */
function lazyBuiltins(): Plugin {
  return {
    name: "tsgi-lazy-builtins",
    setup(b: PluginBuild) {
      b.onResolve({ filter: LAZY }, (args) => (ownFile(args.importer) ? { path: LAZY.exec(args.path)![1], namespace: "tsgi-lazy" } : undefined));
      b.onLoad({ filter: /.*/, namespace: "tsgi-lazy" }, async (args) => {
        const real = (await import(`node:${args.path}`)) as Record<string, unknown>;
        const names = Object.keys(real).filter((k) => /^[a-z][\w$]*$/.test(k) && typeof real[k] === "function");
        const lines = [`let m; const get = () => (m ??= __tsgiRequire(${JSON.stringify("node:" + args.path)}));`];
        for (const n of names) lines.push(`export function ${n}(...a) { return get().${n}(...a); }`);
        return { contents: lines.join("\n"), loader: "js" };
      });
    },
  };
}

/**
 * In an "fn" build, every other import of a builtin (node:*, bun:*, `bun`, bare `fs`...), by
 * the app or a package, becomes a CommonJS stand-in calling __tsgiRequire (the front's
 * require), so the program imports nothing and can run as a function (bundleCgi's "fn" format).
 */
function requireBuiltins(): Plugin {
  const builtins = new Set(builtinModules);
  return {
    name: "tsgi-bun-builtins",
    setup(b: PluginBuild) {
      b.onResolve({ filter: /^[a-z0-9_:/]+$/ }, (args) => (builtins.has(args.path) || args.path.startsWith("node:") || args.path.startsWith("bun:") ? { path: args.path, namespace: "tsgi-builtin" } : undefined));
      b.onLoad({ filter: /.*/, namespace: "tsgi-builtin" }, (args) => ({ contents: `module.exports = __tsgiRequire(${JSON.stringify(args.path)});`, loader: "js" }));
    },
  };
}
