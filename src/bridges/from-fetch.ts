/**
 * Any fetch handler (a function of a Request, or an object with `fetch` such as a Hono app) as
 * a tsgi async app. Servers already accept fetch apps directly; this bridge is for code that
 * wants the async form, such as ASGI-style middleware or an async-only host.
 */
import { SpecError } from "../headers.ts";
import { asyncApp } from "../kind.ts";
import type { AsyncApp, FetchHandler, FetchObject, HttpScope, Receive } from "../spec.ts";
import { responseHeaders, urlSafe } from "../run-fetch.ts";

const EMPTY = new Uint8Array(0);

/** The request body from `receive` events, as a pull-based stream. */
function receiveStream(receive: Receive): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const e = await receive();
        if (e.type !== "http.request") {
          controller.error(new Error("client disconnected"));
          return;
        }
        if (e.body.length > 0) controller.enqueue(e.body);
        if (!e.more_body) controller.close();
        if (e.body.length > 0 || !e.more_body) return;
      }
    },
  }, { highWaterMark: 0 });
}

/** A WHATWG Request for an `http` scope; the body is read from `receive` as it is consumed. */
export function requestFromScope(scope: HttpScope, receive: Receive, signal?: AbortSignal): Request {
  const headers = new Headers();
  let host: string | undefined;
  for (const [name, value] of scope.headers) {
    if (name === "host") host = value;
    try {
      headers.append(name, value);
    } catch {
      // a value the Fetch API refuses (some control bytes): leave it out
    }
  }
  if (host === undefined) {
    const [name, port] = scope.server ?? ["localhost", null];
    host = port === null || port === (scope.scheme === "https" ? 443 : 80) ? name : `${name}:${port}`;
  }
  const path = scope.raw_path ? urlSafe(scope.raw_path) : encodeURI(scope.path);
  const url = `${scope.scheme}://${host}${path}${scope.query_string ? "?" + scope.query_string : ""}`;
  const init: RequestInit & { duplex?: "half" } = { method: scope.method, headers, signal };
  if (scope.method !== "GET" && scope.method !== "HEAD") {
    init.body = receiveStream(receive);
    init.duplex = "half";
  }
  return new Request(url, init);
}

// The core's fetch runner and this bridge read a Response's headers alike.
export { responseHeaders };

export function fromFetch(handler: FetchHandler | FetchObject): AsyncApp {
  const call = typeof handler === "function"
    ? (r: Request) => handler(r)
    : (r: Request) => handler.fetch(r);
  return asyncApp(async (scope, receive, send) => {
    // A fetch handler has no lifespan: raising tells the server to run without it (ASGI lifespan).
    if (scope.type !== "http") throw new Error(`fromFetch: a fetch handler has no ${scope.type} protocol`);
    const ac = new AbortController();
    const response = await call(requestFromScope(scope, receive, ac.signal));
    if (!(response instanceof Response)) {
      throw new SpecError("fetch-response", `a fetch handler must return a Response, got ${response === null ? "null" : typeof response}`);
    }
    await send({ type: "http.response.start", status: response.status, headers: responseHeaders(response) });
    if (response.body === null) {
      await send({ type: "http.response.body", body: EMPTY, more_body: false });
      return;
    }
    const reader = response.body.getReader();
    let finished = false;
    try {
      // One chunk of read-ahead: a one-chunk body goes out as one final event (Content-Length).
      let r = await reader.read();
      while (!r.done) {
        const next = await reader.read();
        await send({ type: "http.response.body", body: r.value, more_body: !next.done });
        if (next.done) {
          finished = true;
          return;
        }
        r = next;
      }
      finished = true;
      await send({ type: "http.response.body", body: EMPTY, more_body: false });
    } finally {
      if (!finished) {
        ac.abort();
        await reader.cancel().catch(() => {});
      }
    }
  });
}
