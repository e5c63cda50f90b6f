/**
 * `tsgi/bun`: serve any tsgi app on Bun.serve.
 * @module
 */
export { listen, serve, serveWith, unsupportedTarget, type BunListenOptions, type BunServeAppOptions, type RuntimeServer } from "./server.ts";
export { FetchSink, internalError, isAbort } from "./sink.ts";
export { callApp, canPassThrough, passThrough } from "./native-fetch.ts";
export { lazyEnviron, type HeadMaker } from "./lazy-environ.ts";
export { headOf, bodyOf, targetOf, type Endpoints } from "./request.ts";
