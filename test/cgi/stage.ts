/**
 * A cgi-bin for the CGI tests: a temp folder the web server's user can read, holding
 * `#!/usr/bin/env cgi-run` scripts, a bin folder with `cgi-run` for the scripts' PATH (never
 * the machine's own PATH), a cache folder, and the servers' folders. Removed afterwards.
 */
import { chmodSync, chownSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { IS_ROOT, tempDir, WEB_USER } from "../support/peers.ts";
import { entryCommand, ROOT, runtime } from "../support/runtime.ts";

/** Bun's cgi-run front (docs/cgi.md), which falls back to src/cli/cgi-run.ts on a cache miss. */
export const BUN_FRONT = join(ROOT, "adapters/cgi/cgi-run-bun.js");
/** Node's: the `cgi-run` command itself (package.json "bin"), which falls back to dist/src/cli/cgi-run.js. */
export const NODE_FRONT = join(ROOT, "adapters/cgi/cgi-run-node.cjs");

/** The command that runs cgi-run on the runtime under test (under Bun and Node: its front). */
export function cgiRunCommand(args: string[]): [string, string[]] {
  const [cmd, rest] = entryCommand("cgi-run", args);
  const rt = runtime();
  return rt === "bun" ? [cmd, [BUN_FRONT, ...rest.slice(1)]] : rt === "node" ? [cmd, [NODE_FRONT, ...rest.slice(1)]] : [cmd, rest];
}

export { IS_ROOT, WEB_USER } from "../support/peers.ts";

function webIds(): { uid: number; gid: number } | null {
  if (!IS_ROOT) return null;
  const r = spawnSync("id", ["-u", WEB_USER], { encoding: "utf8" });
  const g = spawnSync("id", ["-g", WEB_USER], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`user ${WEB_USER} missing: the CGI tests run the servers as ${WEB_USER} when root`);
  return { uid: Number(r.stdout), gid: Number(g.stdout) };
}

export interface Stage {
  root: string;
  cgiBin: string;
  /** Holds `cgi-run`; put it first in the scripts' PATH. */
  bin: string;
  /** PATH for CGI scripts: bin + the system folders (node is /usr/bin/node on Debian). */
  path: string;
  cache: string;
  /** A TMPDIR for scripts, so the unwritable-home fallback lands inside the stage. */
  tmp: string;
  /** TSGI_BATTERY_STATE for the reference app's close() records. */
  state: string;
  /** Write an executable script into cgi-bin. */
  script(name: string, text: string): string;
  /** A `#!/usr/bin/env cgi-run` script re-exporting a module's default (or named) export. */
  app(name: string, module: string, exportName?: string): string;
  remove(): void;
}

/** Where test fixtures live as sources (the bundle compiles them; Bun and Deno run them). */
export const FIXTURES = join(ROOT, "test/cgi/fixtures");
export const BATTERY_APP = join(ROOT, "src/testing/battery/app.ts");

export function makeStage(): Stage {
  const root = tempDir("cgi");
  const ids = webIds();
  const dir = (p: string, writable = false) => {
    mkdirSync(p, { recursive: true });
    chmodSync(p, 0o755);
    if (writable && ids) chownSync(p, ids.uid, ids.gid);
    return p;
  };
  const cgiBin = dir(join(root, "cgi-bin"));
  const bin = dir(join(root, "bin"));
  const cache = dir(join(root, "cache"), true);
  const tmp = dir(join(root, "tmp"), true);
  const state = dir(join(root, "state"), true);
  if (!ids) chmodSync(cache, 0o700);
  installCgiRun(bin);
  const stage: Stage = {
    root, cgiBin, bin, cache, tmp, state,
    path: `${bin}:/usr/local/bin:/usr/bin:/bin`,
    script(name, text) {
      const p = join(cgiBin, name);
      writeFileSync(p, text);
      chmodSync(p, 0o755);
      return p;
    },
    app(name, module, exportName = "default") {
      const line = exportName === "default" ? `export { default } from ${JSON.stringify(module)};` : `export { ${exportName} as default } from ${JSON.stringify(module)};`;
      return stage.script(name, `#!/usr/bin/env cgi-run\n${line}\n`);
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
  return stage;
}

/**
 * `cgi-run` as `npm i -g` installs it for Node (a symlink to the executable dist file), or a
 * two-line wrapper naming Bun (with the front docs/cgi.md gives its #! line) or Deno under
 * TSGI_RUNTIME.
 */
function installCgiRun(bin: string): void {
  const [cmd, args] = cgiRunCommand([]);
  if (runtime() === "node") {
    const target = args[0];
    chmodSync(target, 0o755); // npm sets the bin's mode on install; tsc does not
    symlinkSync(target, join(bin, "cgi-run"));
    return;
  }
  const quoted = [cmd, ...args].map((a) => `'${a}'`).join(" ");
  writeFileSync(join(bin, "cgi-run"), `#!/bin/sh\nexec ${quoted} "$@"\n`);
  chmodSync(join(bin, "cgi-run"), 0o755);
}
