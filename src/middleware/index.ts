/**
 * `tsgi/middleware`: the onion middleware type, composition, `lint`, and the middleware that
 * Plack, Rack and Hono users expect.
 */
export type { Req, Res, ResBody, Handler, Middleware } from "./types.ts";
export { compose, Builder, chain, toApp, sendRes, reqFromScope, discardBody } from "./compose.ts";
export { appHandler, currentEnv, type HandlerOptions } from "./handler.ts";
export { getHeader, getHeaders, setHeader, removeHeader, appendHeader } from "./headers.ts";
export { lint, lintSync, lintAsync, lintFetch, checkEnviron, checkScope } from "./lint/index.ts";
export { urlMap, mount } from "./url-map.ts";
export { serveStatic, parseRange, MIME_TYPES, type StaticOptions } from "./static.ts";
export { conditionalGet, isFresh, notModified } from "./conditional.ts";
export { accessLog, clfDate, type AccessLogOptions } from "./access-log.ts";
export { requestId, type RequestIdOptions } from "./request-id.ts";
export { errorPage, type ErrorPageOptions } from "./error-page.ts";
export { runtime } from "./runtime.ts";
