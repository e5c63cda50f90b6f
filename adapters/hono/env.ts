/**
 * Hono apps under tsgi: the core calls `app.fetch(request, environ)`, so the environ is Hono's
 * `c.env`. Declare it with `new Hono<TsgiEnv>()` to have `c.env.REMOTE_ADDR` typed.
 */
import type { Environ } from "../../src/index.ts";

/** Hono's Env type for apps served by tsgi: `c.env` is the request's environ. */
export interface TsgiEnv {
  Bindings: Environ;
}
