/**
 * Which JS runtime runs the tsgi server under test. Peer and battery tests start tsgi through
 * these helpers, so the matrix (test/matrix.mjs) can run the same test files with
 * TSGI_RUNTIME=bun or TSGI_RUNTIME=deno. Node runs the compiled dist/; Bun and Deno run the
 * TypeScript sources directly, as users of those runtimes would.
 */
import { join } from "node:path";

export type Runtime = "node" | "bun" | "deno";

export const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "").replace(/\/dist$/, "");

export function runtime(): Runtime {
  const r = process.env.TSGI_RUNTIME ?? "node";
  if (r !== "node" && r !== "bun" && r !== "deno") throw new Error(`TSGI_RUNTIME=${r}: use node, bun or deno`);
  return r;
}

function bin(name: string): string {
  return join(ROOT, "node_modules/.bin", name);
}

/** Command and arguments that run a tsgi entry script (`tsgi` or `cgi-run`) on the chosen runtime. */
export function entryCommand(entry: "tsgi" | "cgi-run", args: string[], rt: Runtime = runtime()): [string, string[]] {
  switch (rt) {
    case "node":
      return [process.execPath, [join(ROOT, `dist/src/cli/${entry}.js`), ...args]];
    case "bun":
      return [bin("bun"), [join(ROOT, `src/cli/${entry}.ts`), ...args]];
    case "deno":
      return [bin("deno"), ["run", "-A", "--no-check", join(ROOT, `src/cli/${entry}.ts`), ...args]];
  }
}

/** `tsgi serve ...` on the chosen runtime. */
export function tsgiCommand(args: string[], rt: Runtime = runtime()): [string, string[]] {
  return entryCommand("tsgi", args, rt);
}
