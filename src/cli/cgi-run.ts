#!/usr/bin/env node
/**
 * `cgi-run APP[:export]`: serve one CGI request with a tsgi app, no build step. Meant as the
 * interpreter line of an app in cgi-bin:
 *
 *     #!/usr/bin/env cgi-run
 *
 * (the kernel runs `cgi-run /path/to/app.ts`; extra arguments, such as the words of an
 * Apache "indexed query" (RFC 3875 §4.4), are ignored).
 *
 * Start-up is the whole cost of a CGI request, so the app, its imports and the CGI runner
 * are bundled once into a single cached program (src/cli/loader.ts, bundle.ts); a warm start
 * checks file stamps, runs that one file and loads no transpiler. Deno runs the TypeScript
 * as is. The warm paths are fronts in plain JavaScript that fall back to this file on a
 * miss: on Node adapters/cgi/cgi-run-node.cjs (the `cgi-run` command; CommonJS, so a warm
 * start loads no ES module), on Bun adapters/cgi/cgi-run-bun.js. This file still serves
 * either runtime when run itself, with the same cached program (see runNode, runBun). It imports no
 * builtin module (Bun builds node:fs, node:path and node:url on import: ~12 ms of a ~30 ms
 * start); Node gets its builtins, free there, through `require`.
 */
import { createRequire } from "node:module";
import { appFile, BUN_FN_HEAD, BUN_PRAGMA, cacheKey, findCached, importable, LOADER_VERSION, LoadError, NODE_FN_HEAD, parseAppSpec, runtime, storeCached } from "./loader.ts";

const require = createRequire(import.meta.url);

// httpoxy: in a CGI environment HTTP_PROXY is the client's `Proxy` header. Gone before any
// app or package code runs, so no HTTP client can take it for a proxy setting.
if (process.env.GATEWAY_INTERFACE !== undefined || process.env.REQUEST_METHOD !== undefined) delete process.env.HTTP_PROXY;

const USAGE = `usage: cgi-run APP[:export]
Serve one CGI request (RFC 3875) with the tsgi app exported by APP (default export unless
:export is given). Use it as the first line of an executable app in cgi-bin:
    #!/usr/bin/env cgi-run
Environment: TSGI_CACHE_DIR  where transpiled apps are cached (see docs/cgi.md)
`;

async function main(argv: string[]): Promise<void> {
  const spec = argv[0];
  if (spec === "--version" || spec === "-v") {
    process.stdout.write(`cgi-run (${LOADER_VERSION})\n`);
    return;
  }
  if (spec === undefined || spec === "" || spec === "--help" || spec === "-h") {
    if (spec === undefined && process.env.REQUEST_METHOD !== undefined) {
      return fail("cgi-run was started with no app file: make it the #! line of the app (#!/usr/bin/env cgi-run)");
    }
    process.stderr.write(USAGE);
    process.exitCode = spec === undefined || spec === "" ? 2 : 0;
    return;
  }
  let label = spec;
  try {
    const { file, exportName } = parseAppSpec(spec);
    label = file;
    const { path, size, mtimeMs } = appFile(file, true);
    if (runtime === "deno") {
      // Deno transpiles and caches TypeScript itself.
      const { runCgiModule } = await import("../../adapters/cgi/run.ts");
      const mod = await import(importable(path)) as Record<string, unknown>;
      await runCgiModule(mod, exportName, file);
      return;
    }
    const name = cacheKey([LOADER_VERSION, "cgi", runtime, path, exportName, String(size), String(mtimeMs)]) + ".mjs";
    let program = await findCached(name);
    if (program === null) {
      appFile(file); // the checks Bun's quick stamp skipped
      const { bundleCgi, pruneCache } = await import("./bundle.ts");
      const { code, inputs, format } = await bundleCgi(path, exportName, file, runtime === "bun");
      // Bun's copies start with a line saying which kind they are: `// @bun` tells Bun a module
      // needs no transpiling (esbuild's output is plain JavaScript). Hence `runtime` in the key.
      const head = format === "fn" ? (runtime === "bun" ? BUN_FN_HEAD : NODE_FN_HEAD) : format === "esm" ? BUN_PRAGMA : "";
      const stored = storeCached(name, code, inputs, head);
      program = stored.file;
      const dir = program.slice(0, program.lastIndexOf("/"));
      if (stored.temporary) process.once("exit", () => require("node:fs").rmSync(dir, { recursive: true, force: true }));
      // This miss is where an edit of the app leaves an old entry behind: drop the useless ones.
      else pruneCache(dir, name);
    }
    if (runtime === "node") {
      // Node 22.1+: keep V8's compiled code next to the bundle (a no-op where unsupported).
      const enable = (require("node:module") as { enableCompileCache?: (dir: string) => unknown }).enableCompileCache;
      try {
        enable?.(program.slice(0, program.lastIndexOf("/")) + "/v8");
      } catch { /* the cache is an optimisation */ }
    }
    // The bundle serves the request and exits.
    if (runtime === "bun") await runBun(program, path);
    else await runNode(program, path);
  } catch (err) {
    fail(err instanceof LoadError ? err.message : `app file ${label} failed to load: ${err instanceof Error ? err.stack : String(err)}`);
  }
}

/**
 * Run Node's cached program: a NODE_FN_HEAD one through the Node front's runProgram (the
 * `cgi-run` command, adapters/cgi/cgi-run-node.cjs, runs its warm path the same way), any
 * other as the ES module it is.
 */
async function runNode(program: string, app: string): Promise<void> {
  const front = new URL(`${import.meta.url.includes("/dist/src/cli/") ? "../../.." : "../.."}/adapters/cgi/cgi-run-node.cjs`, import.meta.url);
  const { fileURLToPath } = require("node:url") as typeof import("node:url");
  const { runProgram } = require(fileURLToPath(front)) as { runProgram(file: string, app: string): Promise<void> | false };
  const ran = runProgram(program, app);
  if (ran === false) await import(importable(program));
  else await ran;
}

type Program = (tsgiRequire: unknown, require: unknown) => Promise<void>;

/**
 * Run Bun's cached program: a BUN_FN_HEAD one (bundleCgi's "fn" format) is the body of an
 * async function, called with Bun's require and one resolving from the app's folder (as the
 * createRequire banner does on Node); any other is imported. The front,
 * adapters/cgi/cgi-run-bun.js, does the same on its warm path.
 */
async function runBun(program: string, app: string): Promise<void> {
  const bytes = (globalThis as unknown as { Bun: { mmap(p: string): Uint8Array } }).Bun.mmap(program);
  const nl = bytes.indexOf(10);
  if (new TextDecoder().decode(bytes.subarray(0, nl + 1)) !== BUN_FN_HEAD) return void (await import(program));
  const body = new TextDecoder().decode(bytes.subarray(bytes.indexOf(10, nl + 1) + 1));
  const AsyncFunction = (async () => {}).constructor as new (...params: string[]) => Program;
  let appRequire: NodeJS.Require | undefined;
  const fromApp = (id: string) => (appRequire ??= createRequire(app))(id);
  fromApp.resolve = (id: string) => (appRequire ??= createRequire(app)).resolve(id);
  await new AsyncFunction("__tsgiRequire", "require", body)(require, fromApp);
}

function fail(message: string): void {
  void import("../../adapters/cgi/run.ts").then(({ failCgi }) => failCgi(message));
}

await main(process.argv.slice(2));
