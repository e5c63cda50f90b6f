/**
 * `tsgi/middleware`: the onion middleware type, composition, `lint`, and the middleware that
 * Plack, Rack and Hono users expect.
 */
export type { Req, Res, ResBody, Handler, Middleware } from "./types.ts";
export { compose, Builder, chain, toApp, sendRes, reqFromScope, discardBody } from "./compose.ts";
export { appHandler, currentEnv, type HandlerOptions } from "./handler.ts";
export { getHeader, getHeaders, setHeader, removeHeader, appendHeader } from "./headers.ts";
