/**
 * `tsgi/bun`: serve any tsgi app on Bun.serve.
 * @module
 */
export { listen, serve, serveWith, unsupportedTarget, type BunListenOptions, type BunServeAppOptions, type RuntimeServer } from "./server.ts";
export { FetchSink, internalError, isAbort } from "./sink.ts";
export { canPassThrough, passThrough } from "./native-fetch.ts";
export { headOf, bodyOf, targetOf, type Endpoints } from "./request.ts";
