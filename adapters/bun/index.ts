/**
 * `tsgi/bun`: serve any tsgi app on Bun.serve.
 * @module
 */
export { serveWith } from "../../src/index.ts";
export { listen, serve, unsupportedTarget, type BunListenOptions, type BunServeAppOptions, type RuntimeServer } from "./server.ts";
export { FetchSink, internalError, isAbort } from "../web/sink.ts";
export { callApp, canPassThrough, passThrough } from "../web/native-fetch.ts";
export { lazyEnviron, type HeadMaker } from "../web/lazy-environ.ts";
export { headOf, bodyOf, targetOf, type Endpoints } from "../web/request.ts";
