/**
 * `tsgi/bun`: serve any tsgi app on Bun.serve.
 * @module
 */
export { listen, serve, serveWith, unsupportedTarget, type BunListenOptions, type BunServeAppOptions, type RuntimeServer } from "./server.ts";
export { FetchSink, internalError } from "./sink.ts";
export { headOf, bodyOf, targetOf, type Endpoints } from "./request.ts";
