/**
 * Which adapter serves each protocol of `tsgi serve`. All of them export the same
 * `listen(gateway, target, options)`, and are imported lazily so that a process pays only for the
 * protocols it serves. The HTTP adapter follows the runtime: Bun.serve and Deno.serve are much
 * faster on their own runtimes than node:http's compatibility layers.
 */
import type { Gateway } from "../gateway.ts";
import type { Listener, ListenTarget } from "../listener.ts";
import type { Log } from "../response.ts";

/** Options every listener gets; an adapter uses the ones that apply to it. */
export interface ListenOptions {
  tls?: { cert: string | Buffer; key: string | Buffer };
  accessLog?: (line: string) => void;
  timeout?: number;
  socketMode?: number;
  log?: Log;
}

export type ListenFn = (gateway: Gateway, target: ListenTarget, options: ListenOptions) => Promise<Listener>;

export type Runtime = "node" | "bun" | "deno";

export function currentRuntime(): Runtime {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  return g.Bun !== undefined ? "bun" : g.Deno !== undefined ? "deno" : "node";
}

// Bun and Deno run the TypeScript sources, so their adapters are imported by their .ts path; the
// specifier is a variable so that tsc (which builds the Node dist/) leaves them alone.
const BUN_HTTP = "../../adapters/bun/index.ts";
const DENO_HTTP = "../../adapters/deno/index.ts";

/** The HTTP adapter for `runtime`. The one place to change when a runtime gets a native adapter. */
export async function httpAdapter(runtime: Runtime = currentRuntime()): Promise<ListenFn> {
  switch (runtime) {
    case "bun":
      return ((await import(BUN_HTTP)) as { listen: ListenFn }).listen;
    case "deno":
      return ((await import(DENO_HTTP)) as { listen: ListenFn }).listen;
    default:
      // Fetch apps (Hono...) are carried by @hono/node-server on tsgi's node:http listener:
      // about twice the core's fetch path (adapters/hono/node.ts). Loaded only for them.
      return async (gateway, target, options) =>
        gateway.kind === "fetch"
          ? (await import("../../adapters/hono/node.ts")).listen(gateway, target, options)
          : (await import("../../adapters/node/index.ts")).listen(gateway, target, options);
  }
}

export async function fastcgiAdapter(): Promise<ListenFn> {
  return (await import("../../adapters/fastcgi/index.ts")).listen as ListenFn;
}

export async function uwsgiAdapter(): Promise<ListenFn> {
  return (await import("../../adapters/uwsgi/index.ts")).listen as ListenFn;
}
