/** Start `tsgi serve` (on the runtime TSGI_RUNTIME names) and wait for its startup lines. */
import { join } from "node:path";
import type { SpawnOptions } from "node:child_process";
import { start, type Started } from "../support/process.ts";
import { ROOT, runtime, tsgiCommand } from "../support/runtime.ts";

/** The battery's reference app, served from its TypeScript source on every runtime. */
export const BATTERY_APP = join(ROOT, "src/testing/battery/app.ts");

export interface TsgiServer {
  proc: Started;
  /** Listener URLs as printed at startup (`http://127.0.0.1:PORT`, `http://unix:/path`, ...). */
  urls: string[];
}

/** Run `tsgi serve ARGS` and resolve once it printed one `serving ... on URL` line per listener. */
export async function startTsgi(args: string[], listeners = 1, opts: SpawnOptions = {}, timeoutMs = 30_000): Promise<TsgiServer> {
  const [cmd, argv] = tsgiCommand(["serve", ...args]);
  const proc = start(cmd, argv, { cwd: ROOT, ...opts });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const urls = [...proc.output().matchAll(/^tsgi: serving .* on (\S+)$/gm)].map((m) => m[1]);
    if (urls.length >= listeners) return { proc, urls };
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`tsgi serve ${args.join(" ")} exited (${proc.child.exitCode ?? proc.child.signalCode}):\n${proc.output()}`);
    }
    if (Date.now() > deadline) throw new Error(`tsgi serve ${args.join(" ")} did not start within ${timeoutMs} ms:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Where `tsgi serve` runs the battery by itself: at the root, under a mount, and on a unix socket in `dir`. */
export function serveVariants(dir: string): { name: string; args: string[]; mount?: string }[] {
  return [
    { name: "TCP, root", args: ["--http", "127.0.0.1:0"] },
    { name: "TCP, mounted at /app", args: ["--http", "127.0.0.1:0", "--mount", "/app"], mount: "/app" },
    { name: "unix socket, mounted at /deep/mount", args: ["--http", join(dir, "tsgi.sock"), "--mount", "/deep/mount"], mount: "/deep/mount" },
  ];
}

/** `http://unix:/path` (how listeners print a unix socket) → the battery's `unix:/path`. */
export function batteryUrl(url: string): string {
  return url.replace(/^https?:\/\/unix:/, "unix:");
}

/**
 * What `tsgi serve` cannot do on each runtime, by nature of the runtime's HTTP server (the same
 * list as test/runtimes/battery.test.ts and docs/runtimes.md): merged into runBattery's options.
 */
export function runtimeLimits(): { capabilities?: Record<string, string>; skip?: Record<string, string> } {
  switch (runtime()) {
    case "bun":
      return { capabilities: { http10: "Bun.serve does not expose the request's HTTP version: SERVER_PROTOCOL is always HTTP/1.1" } };
    case "deno":
      return {
        capabilities: { http10: "Deno.serve does not expose the request's HTTP version: SERVER_PROTOCOL is always HTTP/1.1" },
        skip: { "response-status-418": "Deno.serve writes its own reason phrase (\"I'm a teapot\"), ignoring Response.statusText" },
      };
    default:
      return {};
  }
}
