/**
 * `tsgi/hono`: tsgi and Hono both ways.
 * - A tsgi app inside a Hono app: `hono.all("/legacy/*", tsgi(legacyApp))`.
 * - A Hono app under any tsgi server: nothing to wrap (an object with `fetch` is a fetch-style
 *   app); `c.env` is the environ, typed by `new Hono<TsgiEnv>()`.
 * - On Node, `listenNode(gateway, target)` carries a fetch app on @hono/node-server's request
 *   listener over tsgi's node:http listener (what `tsgi serve --http` does for fetch apps).
 * @module
 */
import type { Gateway, Listener, ListenTarget } from "../../src/index.ts";
import type { HonoNodeListenOptions } from "./node.ts";

export { tsgi, mountOf, type TsgiHandlerOptions } from "./handler.ts";
export { endpointsOf } from "./conninfo.ts";
export type { TsgiEnv } from "./env.ts";
export type { HonoNodeListenOptions } from "./node.ts";

/**
 * Node only: one HTTP(S) listener for `gateway`, a fetch app carried by @hono/node-server (see
 * adapters/hono/node.ts); other app kinds are served by tsgi/node. Loaded on first call, so that
 * tsgi/hono does not pull node:http into Bun, Deno or Workers.
 */
export async function listenNode(gateway: Gateway, target: ListenTarget, options: HonoNodeListenOptions = {}): Promise<Listener> {
  return (await import("./node.ts")).listen(gateway, target, options);
}
