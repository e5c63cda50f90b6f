/**
 * Composing the onion: `compose(app, a, b)` runs `a` first on the way in and last on the way
 * out (Plack::Builder's and Rack::Builder's order). The result is an async app, marked as one,
 * that any tsgi server runs with no wrapper; its lifespan goes to the inner app when that app
 * is async. Apps without middleware never pass through here: the Gateway's fast paths stay as
 * they are.
 */
import { receiveBody } from "../bridges/sync-to-async.ts";
import { asyncApp, appKind } from "../kind.ts";
import { toBytes } from "../response.ts";
import { environFromScope } from "../scope.ts";
import type { App, AsyncApp, Chunk, Header, HttpScope, Receive, Scope, Send } from "../spec.ts";
import { appHandler, HANDLER, type HandlerOptions } from "./handler.ts";
import type { Handler, Middleware, Req, Res, ResBody } from "./types.ts";

const EMPTY = new Uint8Array(0);

/** `middleware[0]` outermost, `inner` at the centre. The chain is built once, not per request. */
export function chain(inner: Handler, middleware: readonly Middleware[]): Handler {
  let h = inner;
  for (let i = middleware.length - 1; i >= 0; i--) {
    const mw = middleware[i];
    const next = h;
    h = async (req) => mw(req, next);
  }
  return h;
}

/** Does the request carry a body? (Content-Length other than 0, or a transfer coding.) */
function hasBody(headers: readonly Header[]): boolean {
  for (const [name, value] of headers) {
    if (name === "transfer-encoding") return true;
    if (name === "content-length") return value !== "0";
  }
  return false;
}

/** The middleware view of an `http` scope. */
export function reqFromScope(scope: HttpScope, receive: Receive): Req {
  return {
    env: environFromScope(scope, false),
    headers: scope.headers,
    body: hasBody(scope.headers) ? receiveBody(receive) : null,
    state: scope.state ?? {},
  };
}

/** An iterator over a body, sync or async. */
function iterate(body: ResBody): Iterator<Chunk> | AsyncIterator<Chunk> {
  return Symbol.asyncIterator in body ? (body as AsyncIterable<Chunk>)[Symbol.asyncIterator]() : (body as Iterable<Chunk>)[Symbol.iterator]();
}

/**
 * Let go of a body without reading it (a 304, a replaced body): its app is told to stop, so a
 * sync app's `close()` runs. Middleware that drop a body MUST call this.
 */
export async function discardBody(body: ResBody): Promise<void> {
  const it = iterate(body);
  await it.return?.();
  const close = (body as { close?: () => void }).close;
  if (typeof close === "function") close.call(body);
}

/** Send a `Res` as async-variant events. A body of one chunk goes out as one final event. */
export async function sendRes(res: Res, send: Send): Promise<void> {
  await send({ type: "http.response.start", status: res.status, headers: res.headers as Header[] });
  const body = res.body;
  if (Array.isArray(body)) {
    const parts = body.map(toBytes);
    let n = 0;
    for (const p of parts) n += p.length;
    const all = parts.length === 1 ? parts[0] : new Uint8Array(n);
    if (parts.length !== 1) {
      let off = 0;
      for (const p of parts) {
        all.set(p, off);
        off += p.length;
      }
    }
    await send({ type: "http.response.body", body: all, more_body: false });
    return;
  }
  const it = iterate(body);
  let finished = false;
  try {
    // No read-ahead: each chunk goes out as soon as it is produced (server-sent events).
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      const bytes = toBytes(r.value);
      if (bytes.length > 0) await send({ type: "http.response.body", body: bytes, more_body: true });
    }
    finished = true;
  } finally {
    // Stopped early (client left, send failed): the app is told, down to its close().
    if (!finished) await it.return?.();
  }
  await send({ type: "http.response.body", body: EMPTY, more_body: false });
}

/** Wrap a Handler as an async app (lifespan goes to `inner` when it is async). */
export function toApp(handler: Handler, inner?: App): AsyncApp {
  const lifespan = inner !== undefined && appKind(inner) === "async" ? (inner as AsyncApp) : null;
  const app = asyncApp(async (scope: Scope, receive: Receive, send: Send): Promise<void> => {
    if (scope.type !== "http") {
      if (lifespan !== null) return lifespan(scope, receive, send);
      // Raising before any lifespan event tells the server to run without lifespan (ASGI).
      throw new Error(`the composed app has no ${scope.type} protocol (its app is not async)`);
    }
    const res = await handler(reqFromScope(scope, receive));
    await sendRes(res, send);
  });
  return Object.assign(app, { [HANDLER]: handler });
}

/** Plack::Builder-style: `new Builder().use(a).use(b).run(app)`. */
export class Builder {
  private readonly middleware: Middleware[] = [];
  constructor(private readonly options: HandlerOptions = {}) {}

  /** Add middleware; the first added is the outermost. */
  use(...middleware: Middleware[]): this {
    this.middleware.push(...middleware);
    return this;
  }

  /** The onion around `app`, as a Handler (for routers such as urlMap). */
  handler(app: App): Handler {
    return chain(appHandler(app, this.options), this.middleware);
  }

  /** The onion around `app`, as an app any tsgi server runs. */
  run(app: App): AsyncApp {
    return toApp(this.handler(app), app);
  }
}

/** `app` wrapped in `middleware`, the first one outermost. */
export function compose(app: App, ...middleware: Middleware[]): AsyncApp {
  return new Builder().use(...middleware).run(app);
}
