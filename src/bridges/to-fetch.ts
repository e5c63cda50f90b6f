/**
 * Any tsgi app as a WHATWG fetch handler, `(Request) => Promise<Response>`: for Bun.serve,
 * Deno.serve, Cloudflare-style hosts, or Hono's `app.mount`. The request goes through the real
 * Gateway, so the app sees exactly what a server would give it; both bodies stream, with
 * backpressure (the app produces the next chunk when the Response's reader pulls).
 */
import { appKind } from "../kind.ts";
import { Gateway, type GatewayOptions } from "../gateway.ts";
import type { HttpHead } from "../request.ts";
import { iterableToStream } from "../run-fetch.ts";
import { statusHasNoBody } from "../headers.ts";
import type { App, FetchHandler, FetchObject } from "../spec.ts";
import { PipeSink } from "./pipe.ts";

/** A ReadableStream as an async iterable whose `return()` cancels the stream. */
export async function* streamBody(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let done = false;
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) {
        done = true;
        return;
      }
      yield r.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/** The HttpHead an HTTP adapter would build for a WHATWG Request. */
export function headFromRequest(request: Request, remoteAddr?: string): HttpHead {
  const url = new URL(request.url);
  const https = url.protocol === "https:";
  const raw: string[] = [];
  let host = false;
  request.headers.forEach((value, name) => {
    if (name === "set-cookie") return; // a response header; Headers folds it oddly
    if (name === "host") host = true;
    raw.push(name, value);
  });
  // A Request's URL carries the authority; fetch does not list Host among its headers.
  if (!host) raw.unshift("host", url.host);
  return {
    method: request.method,
    target: url.pathname + url.search,
    rawHeaders: raw,
    httpVersion: "1.1",
    scheme: https ? "https" : "http",
    serverName: url.hostname,
    serverPort: url.port || (https ? "443" : "80"),
    remoteAddr,
  };
}

/** The fetch handler. A fetch app is returned as a plain call (it already is one). */
export function toFetch(app: App, options: GatewayOptions = {}): (request: Request) => Promise<Response> {
  if (appKind(app) === "fetch") {
    const f = app as FetchHandler | FetchObject;
    return async (request) => (typeof f === "function" ? f(request) : f.fetch(request));
  }
  const gateway = new Gateway(app, options);
  return async (request) => {
    const head = headFromRequest(request);
    const sink = new PipeSink();
    const body = request.body === null ? null : streamBody(request.body);
    void gateway.handleHttp(head, body, sink).catch((err) => sink.abort(err));
    const { status, reason, headers } = await sink.head;
    const h = new Headers();
    for (const [name, value] of headers) h.append(name, value);
    const bodyless = statusHasNoBody(status) || request.method === "HEAD";
    if (bodyless) void sink.body().return?.();
    return new Response(bodyless ? null : iterableToStream(sink.body()), { status, statusText: reason, headers: h });
  };
}
