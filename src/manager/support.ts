/**
 * Which runtimes the process manager runs on. It needs node:cluster to share a listening socket
 * between processes: Node does; Deno 2.9 does on Unix (denoland/deno PR #33752), for node:net and
 * node:http servers but not Deno.serve, so Deno workers serve --http with node:http; Bun 1.4's
 * node:cluster does not (oven-sh/bun#13611, bun.com/reference/node/cluster): Bun.serve and its
 * node:http bind one socket per worker, so a second worker gets EADDRINUSE on a fixed port or a
 * unix socket, and port 0 gives each worker a port of its own.
 */
import type { Runtime } from "../cli/serve-adapters.ts";

/** Why the manager cannot run on `runtime` (the one line `tsgi serve` prints), or null. */
export function unsupported(runtime: Runtime): string | null {
  if (runtime !== "bun") return null;
  return "--workers (the process manager) is not supported on Bun: its node:cluster cannot share a listening socket between worker processes (each binds its own); use Node or Deno for the process manager, or one tsgi per port behind a proxy";
}

/** Whose HTTP server a worker runs for --http: undefined for the runtime's own. */
export function workerHttpRuntime(runtime: Runtime): Runtime | undefined {
  return runtime === "deno" ? "node" : undefined;
}
