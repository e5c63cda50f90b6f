/**
 * `X-Runtime`: seconds the inner app took to produce its status and headers (Rack::Runtime,
 * Plack::Middleware::Runtime). Streaming time after that is not included: the header is gone
 * by then.
 */
import type { Middleware } from "./types.ts";

export function runtime(header = "x-runtime"): Middleware {
  return async (req, next) => {
    const t0 = performance.now();
    const res = await next(req);
    const seconds = ((performance.now() - t0) / 1000).toFixed(6);
    return { ...res, headers: [...res.headers, [header, seconds]] };
  };
}
