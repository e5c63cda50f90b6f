/**
 * Conditional GET (RFC 9110 §13): a 200 response to GET or HEAD whose validators match the
 * request's `If-None-Match` (ETag, weak comparison) or, without one, `If-Modified-Since`
 * (Last-Modified) becomes `304 Not Modified` with no body (Rack::ConditionalGet,
 * Plack::Middleware::ConditionalGET). The app still runs; this saves bandwidth, not work.
 */
import type { Header } from "../spec.ts";
import { discardBody } from "./compose.ts";
import { getHeader } from "./headers.ts";
import type { Middleware, Res } from "./types.ts";

/** Headers a 304 keeps (RFC 9110 §15.4.5); the rest, Content-* included, describe a body. */
const KEEP_304 = new Set(["cache-control", "content-location", "date", "etag", "expires", "vary", "last-modified", "set-cookie"]);

function opaque(tag: string): string {
  return tag.startsWith("W/") ? tag.slice(2) : tag;
}

/** Is a response with these headers fresh for a request with those (so 304 applies)? */
export function isFresh(requestHeaders: readonly Header[], responseHeaders: readonly Header[]): boolean {
  const inm = getHeader(requestHeaders, "if-none-match");
  if (inm !== undefined) {
    const etag = getHeader(responseHeaders, "etag");
    if (etag === undefined) return false;
    if (inm.trim() === "*") return true;
    const want = opaque(etag.trim());
    return inm.split(",").some((t) => opaque(t.trim()) === want);
  }
  const ims = getHeader(requestHeaders, "if-modified-since");
  const lm = getHeader(responseHeaders, "last-modified");
  if (ims === undefined || lm === undefined) return false;
  const since = Date.parse(ims);
  const modified = Date.parse(lm);
  return !Number.isNaN(since) && !Number.isNaN(modified) && modified <= since;
}

/** The 304 for a response, keeping only the headers a 304 may carry. */
export function notModified(res: Res): Res {
  return { status: 304, headers: res.headers.filter((h) => KEEP_304.has(h[0].toLowerCase())), body: [] };
}

export function conditionalGet(): Middleware {
  return async (req, next) => {
    const res = await next(req);
    const method = req.env.REQUEST_METHOD;
    if ((method !== "GET" && method !== "HEAD") || res.status !== 200 || !isFresh(req.headers, res.headers)) return res;
    await discardBody(res.body);
    return notModified(res);
  };
}
