/**
 * A request id for tracing: the client's (or the proxy's) `X-Request-Id` when it looks like an
 * id, else a new UUID. The app sees it as a request header (`HTTP_X_REQUEST_ID`) and in
 * `req.state.requestId`, and it goes back on the response.
 */
import { removeHeader } from "./headers.ts";
import type { Middleware } from "./types.ts";

export interface RequestIdOptions {
  /** Header name, lower-case. Default `x-request-id`. */
  header?: string;
  /** Keep an incoming id (default true). Turn off when clients are not trusted to send one. */
  trustIncoming?: boolean;
  generate?: () => string;
}

/** Short, printable ids only: an incoming id ends up in logs, so it must not carry markup or newlines. */
const VALID = /^[A-Za-z0-9._:@+=\/-]{1,200}$/;

export function requestId(options: RequestIdOptions = {}): Middleware {
  const name = (options.header ?? "x-request-id").toLowerCase();
  const trust = options.trustIncoming ?? true;
  const generate = options.generate ?? (() => crypto.randomUUID());
  return async (req, next) => {
    const incoming = trust ? req.headers.find((h) => h[0] === name)?.[1] : undefined;
    const id = incoming !== undefined && VALID.test(incoming) ? incoming : generate();
    const headers = removeHeader(req.headers, name);
    headers.push([name, id]);
    const res = await next({ ...req, headers, state: { ...req.state, requestId: id } });
    return { ...res, headers: [...removeHeader(res.headers, name), [name, id]] };
  };
}
