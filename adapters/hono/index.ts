/**
 * `tsgi/hono`: tsgi and Hono both ways.
 * - A tsgi app inside a Hono app: `hono.all("/legacy/*", tsgi(legacyApp))`.
 * - A Hono app under any tsgi server: nothing to wrap (an object with `fetch` is a fetch-style
 *   app); `c.env` is the environ, typed by `new Hono<TsgiEnv>()`.
 * @module
 */
export { tsgi, mountOf, type TsgiHandlerOptions } from "./handler.ts";
export { endpointsOf } from "./conninfo.ts";
export type { TsgiEnv } from "./env.ts";
