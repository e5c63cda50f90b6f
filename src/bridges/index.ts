/** Bridges between the app kinds: sync → async, any app → fetch handler, fetch handler → async. */
export { syncToAsync, receiveBody, BodyDisconnected, type SyncToAsyncOptions } from "./sync-to-async.ts";
export { toFetch, headFromRequest, streamBody } from "./to-fetch.ts";
export { fromFetch, requestFromScope, responseHeaders } from "./from-fetch.ts";
export { PipeSink, type PipeHead } from "./pipe.ts";
