/**
 * The one middleware type of tsgi (SPEC.md §11). A middleware sees a request as a value and
 * returns a response as a value, calling `next` (the rest of the onion) zero or one time:
 *
 * ```ts
 * const timing: Middleware = async (req, next) => {
 *   const t0 = performance.now();                        // before the inner app
 *   const res = await next(req);                         // the inner app (or the next middleware)
 *   return { ...res, headers: [...res.headers, ["server-timing", `app;dur=${performance.now() - t0}`]] };
 * };
 * ```
 *
 * The shape is neutral: it is neither the sync nor the async variant, so one middleware works
 * in front of any app kind, and `compose` adapts each end (the server side speaks the async
 * variant, the app side whatever the app is). Bodies stay streams: a middleware that maps
 * `res.body` chunk by chunk streams, and one that stops iterating early calls `return()`,
 * which reaches the app (`close()` for sync apps).
 */
import type { CgiEnviron } from "../environ.ts";
import type { BodySource } from "../request.ts";
import type { Chunk, Header } from "../spec.ts";

/** A request as middleware sees it. Rewrite it by passing a changed copy to `next`. */
export interface Req {
  /**
   * The CGI meta-variables (byte strings, SPEC.md §4.2): `REQUEST_METHOD`, `SCRIPT_NAME`,
   * `PATH_INFO`, `QUERY_STRING`, `REQUEST_URI`, `SERVER_*`, `REMOTE_*`, `HTTPS`. Request headers
   * are not here (no `HTTP_*`, `CONTENT_*`): `headers` is their one source.
   * `REQUEST_URI` is the client's raw target; after a rewrite of `SCRIPT_NAME`/`PATH_INFO` the
   * inner app gets one rebuilt from them.
   */
  readonly env: Readonly<CgiEnviron>;
  /** Lower-case names, byte-string values, in the order received; repeats are kept. */
  readonly headers: readonly Header[];
  /** The request body, pulled on demand; `null` when the request has none. */
  readonly body: BodySource;
  /**
   * Values shared along the onion for this request (a request id, route parameters). Starts
   * as a copy of the lifespan state; async apps get it as `scope.state`.
   */
  readonly state: Record<string, unknown>;
}

/** The response body: chunks in order; strings are sent as UTF-8. Arrays get a Content-Length. */
export type ResBody = Iterable<Chunk> | AsyncIterable<Chunk>;

/** A response as middleware sees it. */
export interface Res {
  /** Integer status, 200-599 (the reason phrase is the server's). */
  readonly status: number;
  /** `[name, value]` pairs; repeats (Set-Cookie) are separate entries. */
  readonly headers: readonly Header[];
  readonly body: ResBody;
}

/** The rest of the onion, from one middleware's point of view. */
export type Handler = (req: Req) => Promise<Res>;

/**
 * A middleware: act on the way in, call `next` (or not: short-circuit), act on the way out.
 * Throwing (or rejecting) is an app failure; an outer middleware such as `errorPage` may turn
 * it into a response, otherwise the server answers 500.
 */
export type Middleware = (req: Req, next: Handler) => Res | Promise<Res>;
