/** Starting scripts under Bun and Deno from node:test, and reading what they print. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { IN_CI, type Started } from "../support/process.ts";
import { ROOT } from "../support/runtime.ts";

/**
 * The runtimes these tests cover: both, or only the one TSGI_RUNTIME names (the matrix runs
 * each cell on its own).
 */
export const RUNTIMES: ("bun" | "deno")[] =
  process.env.TSGI_RUNTIME === "bun" ? ["bun"] : process.env.TSGI_RUNTIME === "deno" ? ["deno"] : ["bun", "deno"];

/**
 * The narrowest Deno permissions tsgi needs: network, reading the app and its imports, writing
 * unix sockets and spilled request bodies, and the environment (TMPDIR, TSGI_* settings).
 */
export const DENO_PERMISSIONS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env"];

/**
 * A function building the command that runs `script` under `rt`, or null when the runtime is
 * not installed (a failure under CI, where npm install must have installed it).
 */
export function runtimeBin(rt: "bun" | "deno"): ((script: string, args: string[]) => [string, string[]]) | null {
  const bin = join(ROOT, "node_modules/.bin", rt);
  if (!existsSync(bin)) {
    if (IN_CI) throw new Error(`${rt} not found at ${bin}: npm install installs it (devDependency)`);
    return null;
  }
  if (rt === "bun") return (script, args) => [bin, [script, ...args]];
  return (script, args) => [bin, ["run", "--no-check", ...DENO_PERMISSIONS, script, ...args]];
}

/** Wait until the process prints a line matching `re`; fail with its output if it exits first. */
export async function waitForLine(p: Started, re: RegExp, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = re.exec(p.output());
    if (m) return m[0];
    if (p.child.exitCode !== null || p.child.signalCode !== null) throw new Error(`process exited before printing ${re}:\n${p.output()}`);
    if (Date.now() > deadline) throw new Error(`no line matching ${re} after ${timeoutMs} ms:\n${p.output()}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}
