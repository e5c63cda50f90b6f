/**
 * tsgi: the TypeScript Server Gateway Interface. This module exports the spec's types and the
 * core that every adapter uses; adapters live under `tsgi/node`, `tsgi/fastcgi`, and so on.
 */
export * from "./spec.ts";
export { appKind, syncApp, asyncApp, fetchApp } from "./kind.ts";
export { Gateway, type GatewayOptions } from "./gateway.ts";
export { environFromHttp, environFromParams, addHeaders, headersFromEnviron, percentDecode, decodeUtf8, byteStringToBytes, bytesToByteString, normalizeMount, type CgiEnviron, type EnvironOptions } from "./environ.ts";
export { ParamsDecoder, type RepeatedName } from "./params.ts";
export type { HttpHead, CgiParams, BodySource, ResponseSink } from "./request.ts";
export { SpecError, REASONS, reasonPhrase, HOP_BY_HOP, parseStatus, checkFinalStatus, validateHeaders, statusHasNoBody, isToken, responseHead } from "./headers.ts";
export { BodyTooLarge, BodyIncomplete, MemoryInput, FileInput, collectInput } from "./input.ts";
export { ResponseWriter, ClientDisconnected, toBytes, countUtf8, utf8Length, sendText, DONE, type Log } from "./response.ts";
export { Lifespan, LifespanError } from "./lifespan.ts";
export { toRequest, requestUrl, iterableToStream, urlSafe, capBody } from "./run-fetch.ts";
export { scopeFromEnviron, environFromScope, utf8ByteString, makeEnviron, type TsgiValues } from "./scope.ts";
export { syncToAsync, toFetch, fromFetch, type SyncToAsyncOptions } from "./bridges/index.ts";
export { parseListenTarget, formatTarget, type ListenTarget, type Listener } from "./listener.ts";
export { serveWith, type ServeOptions, type RunningServer, type ListenFn } from "./serve.ts";
