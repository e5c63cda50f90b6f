/**
 * Load an app file (`APP[:export]`) with no build step. On Bun and Deno, TypeScript runs as is.
 * On Node 20 a `.ts` app is bundled by esbuild (its local imports inlined, packages left as
 * absolute imports so they resolve as they would from the app's folder) into a cache file;
 * a warm start checks file stamps and imports the cached output without loading esbuild.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { appKind } from "../kind.ts";
import type { App } from "../spec.ts";

export const LOADER_VERSION = "tsgi-1.0.0-loader-1";

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

const runtime: "bun" | "deno" | "node" =
  typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun"
  : typeof (globalThis as { Deno?: unknown }).Deno !== "undefined" ? "deno" : "node";

/** Where transpiled apps are cached, in order of preference; the first writable one wins. */
export function cacheDirs(): string[] {
  const dirs: string[] = [];
  if (process.env.TSGI_CACHE_DIR) dirs.push(process.env.TSGI_CACHE_DIR);
  if (process.env.XDG_CACHE_HOME) dirs.push(join(process.env.XDG_CACHE_HOME, "tsgi"));
  try {
    dirs.push(join(homedir(), ".cache", "tsgi"));
  } catch { /* no home (www-data may have none) */ }
  const uid = typeof process.getuid === "function" ? process.getuid() : "u";
  dirs.push(join(tmpdir(), `tsgi-cache-${uid}`));
  return dirs;
}

/** Load the module at `spec` and return its app export, checked to be a tsgi app. */
export async function loadApp(spec: string): Promise<App> {
  const { file, exportName } = parseAppSpec(spec);
  const path = resolve(file);
  try {
    if (!statSync(path).isFile()) throw new LoadError(`app file ${file} is not a file`);
  } catch (err) {
    if (err instanceof LoadError) throw err;
    throw new LoadError(`app file ${file} not found (looked at ${path})`);
  }
  const ext = extname(path);
  const needsTranspile = runtime === "node" && (ext === ".ts" || ext === ".mts" || ext === ".tsx" || ext === ".jsx");
  const url = needsTranspile ? pathToFileURL(await transpiled(path)).href : pathToFileURL(path).href;
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
  try {
    appKind(app);
  } catch (err) {
    throw new LoadError(`export "${exportName}" of ${file} is not a tsgi app: ${(err as Error).message}`);
  }
  return app as App;
}

interface Stamp {
  inputs: [path: string, size: number, mtimeMs: number][];
}

/** The cached bundle of a TS app, rebuilt when any bundled input file changed. */
export async function transpiled(path: string): Promise<string> {
  const st = statSync(path);
  const key = createHash("sha256").update(`${LOADER_VERSION}\0${path}\0${st.size}\0${st.mtimeMs}`).digest("hex").slice(0, 32);
  for (const dir of cacheDirs()) {
    const out = join(dir, `${key}.mjs`);
    if (fresh(out + ".json")) return out;
  }
  const { code, inputs } = await bundle(path);
  for (const dir of cacheDirs()) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const out = join(dir, `${key}.mjs`);
      // Write then rename: two processes filling the same entry at once each rename a whole file.
      const tmp = `${out}.${process.pid}.${Date.now()}.tmp`;
      writeFileSync(tmp, code, { mode: 0o600 });
      renameSync(tmp, out);
      writeFileSync(`${tmp}.json`, JSON.stringify({ inputs } satisfies Stamp), { mode: 0o600 });
      renameSync(`${tmp}.json`, `${out}.json`);
      return out;
    } catch {
      // Not writable (an unprivileged web server user): try the next place.
    }
  }
  throw new LoadError(`cannot write the transpile cache anywhere (tried ${cacheDirs().join(", ")}); set TSGI_CACHE_DIR to a writable folder`);
}

function fresh(stampFile: string): boolean {
  let stamp: Stamp;
  try {
    stamp = JSON.parse(readFileSync(stampFile, "utf8")) as Stamp;
  } catch {
    return false;
  }
  for (const [p, size, mtime] of stamp.inputs) {
    try {
      const s = statSync(p);
      if (s.size !== size || s.mtimeMs !== mtime) return false;
    } catch {
      return false;
    }
  }
  return true;
}

async function bundle(path: string): Promise<{ code: string; inputs: Stamp["inputs"] }> {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [path],
    bundle: true,
    write: false,
    format: "esm",
    platform: "node",
    target: "node20",
    metafile: true,
    logLevel: "silent",
    plugins: [{
      name: "packages-stay-external",
      setup(build) {
        // Packages are imported by absolute path from the cache file, resolved from the app's folder.
        build.onResolve({ filter: /^[^./]/ }, async (args) => {
          if (args.path.startsWith("node:") || args.pluginData === "inner") return undefined;
          const r = await build.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, pluginData: "inner" });
          if (r.errors.length > 0) return { errors: r.errors };
          return { path: r.external ? args.path : r.path, external: true };
        });
      },
    }],
  }).catch((err: { errors?: { text: string; location?: { file: string; line: number } | null }[] }) => {
    const e = err.errors?.[0];
    throw new LoadError(`cannot compile ${path}: ${e ? `${e.location ? `${e.location.file}:${e.location.line}: ` : ""}${e.text}` : String(err)}`);
  });
  const inputs: Stamp["inputs"] = [];
  for (const rel of Object.keys(result.metafile!.inputs)) {
    const p = resolve(rel);
    const s = statSync(p);
    inputs.push([p, s.size, s.mtimeMs]);
  }
  return { code: result.outputFiles![0].text, inputs };
}
