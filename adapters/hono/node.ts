/**
 * Fetch-style apps (a Hono app, any `(Request, environ) => Response`) on Node, carried by
 * @hono/node-server's request listener on tsgi's own node:http listener (adapters/node: binding,
 * unix sockets, TLS, timeouts, access log, Expect: 100-continue and graceful stop stay tsgi's).
 *
 * Why: the core's fetch runner (src/run-fetch.ts) builds an undici Request, Headers and
 * ReadableStream per request and reads the Response body through a stream reader. @hono/node-
 * server hands the app lightweight Request/Response stand-ins that turn into real ones only when
 * the app asks, and writes a string or bytes body with one `res.end()`. Hello Hono on
 * bench/suites/http.sh: 44-46 us of server CPU per request through the core, 16-19 through this
 * carrier (@hono/node-server alone: 14-18 in the same runs).
 *
 * The app still gets what the core gives it (SPEC.md §6): the environ as second argument
 * (`c.env`, with the `tsgi.*` keys and SCRIPT_NAME/PATH_INFO split at the Gateway's mount), a
 * Response or a logged 500, hop-by-hop response headers dropped. Requests the core must handle
 * itself take the core's path: a body without Content-Length (chunked: the core counts it against
 * maxBody as it streams), a Content-Length over maxBody (413 before the app runs), and a request
 * without Host (HTTP/1.0; the core names the URL after the listener). Expect: 100-continue
 * requests never reach this carrier (adapters/node answers 100 only when the body is pulled).
 *
 * @hono/node-server replaces the global Request and Response with its stand-ins (that is where
 * its speed comes from); they are subclasses that pass `instanceof`, and `tsgi serve` runs one
 * app per process, so nothing else is affected.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { getRequestListener, RequestError, type HttpBindings } from "@hono/node-server";
import { environFromHttp, MemoryInput, type Environ, type FetchHandler, type FetchObject, type Gateway, type Listener, type ListenTarget } from "../../src/index.ts";
import { accessLine, listen as listenNode, type NodeListenOptions } from "../node/index.ts";
import { checked, failed, probeResponseCache, type Log } from "./node-response.ts";
import { endpoints } from "../node/endpoints.ts";

/** Options of one listener: adapters/node's. */
export type HonoNodeListenOptions = NodeListenOptions;

/**
 * Start one HTTP(S) listener for `gateway`. A fetch app is carried by @hono/node-server; any
 * other app kind is served by adapters/node as is.
 */
export function listen(gateway: Gateway, target: ListenTarget, options: HonoNodeListenOptions = {}): Promise<Listener> {
  if (gateway.kind !== "fetch") return listenNode(gateway, target, options);
  return listenNode(gateway, target, { ...options, route: honoRoute(gateway, options.tls ? "https" : "http", options.accessLog) });
}

const EMPTY_INPUT = new MemoryInput(new Uint8Array(0));
const DIGITS = /^\d{1,15}$/;

/**
 * The request handler adapters/node calls first: it takes the request (true) unless the core
 * must handle it (false; see the module comment).
 */
export function honoRoute(gateway: Gateway, scheme: "http" | "https", accessLog?: (line: string) => void): (req: IncomingMessage, res: ServerResponse) => boolean {
  const app = gateway.app as FetchHandler | FetchObject;
  const call: (r: Request, env: Environ) => unknown = typeof app === "function" ? app as never : (r, env) => app.fetch(r, env as never);
  const mount = gateway.mount;
  const log = gateway.log;
  // The request being dispatched: @hono/node-server calls errorHandler synchronously, inside
  // listener(), when the URL cannot be built, and gives it only the error.
  let current: IncomingMessage | null = null;

  const fetchCallback = (request: Request, bindings: HttpBindings): Response | Promise<Response> => {
    const incoming = bindings.incoming;
    // Built for every request, as a plain object: a Proxy that builds it on first read saved
    // ~0.7 us of ~14 per hello that never reads c.env (measured), but made c.env a Proxy
    // (console.log shows its holder, structuredClone throws, every read goes through a trap).
    const at = endpoints(incoming.socket);
    const cgi = environFromHttp({
      method: incoming.method!,
      target: incoming.url!,
      rawHeaders: incoming.rawHeaders,
      httpVersion: incoming.httpVersion,
      scheme,
      serverName: at.serverName,
      serverPort: at.serverPort,
      remoteAddr: at.remoteAddr,
      remotePort: at.remotePort,
    }, { mount });
    const env = gateway.environ(cgi, EMPTY_INPUT);
    let result: unknown;
    try {
      result = call(request, env);
    } catch (err) {
      return failed(log, incoming, err);
    }
    if (result instanceof Response) return checked(result, log, incoming, bindings.outgoing);
    if (result !== null && typeof (result as Promise<unknown>)?.then === "function") {
      return (result as Promise<unknown>).then(
        (r) => (r instanceof Response ? checked(r, log, incoming, bindings.outgoing) : notAResponse(log, incoming, r)),
        (err) => failed(log, incoming, err),
      );
    }
    return notAResponse(log, incoming, result);
  };

  const listener = getRequestListener(fetchCallback as never, {
    errorHandler(err) {
      const req = current;
      // A request @hono/node-server cannot make a URL of (bad Host, bad absolute target): 400.
      if (err instanceof RequestError && req !== null) {
        log(`${req.method} ${req.url}: ${err.message} (no valid URL from Host ${JSON.stringify(req.headers.host)} and the target); answered 400`);
        return new Response("invalid Host header or request target\n", { status: 400, headers: TEXT });
      }
      // fetchCallback settles every app outcome itself: anything else is a bug here.
      log(`internal error (a bug in tsgi; please report it): ${err instanceof Error ? err.stack : String(err)}`);
      return new Response("Internal Server Error\n", { status: 500, headers: TEXT });
    },
  });
  probeResponseCache();

  return function route(req: IncomingMessage, res: ServerResponse): boolean {
    const h = req.headers;
    const cl = h["content-length"];
    if (cl === undefined ? h["transfer-encoding"] !== undefined : !DIGITS.test(cl) || Number(cl) > gateway.maxBody) return false;
    if (h.host === undefined) return false;
    if (accessLog !== undefined) logWhenDone(req, res, accessLog);
    current = req;
    void listener(req, res);
    current = null;
    return true;
  };
}

const TEXT = { "content-type": "text/plain; charset=utf-8" };

function notAResponse(log: Log, req: IncomingMessage, value: unknown): Response {
  return failed(log, req, new TypeError(`[fetch-response] a fetch handler must return a Response, got ${value === null ? "null" : typeof value}`));
}

/** One access-log line when the response is done; body bytes counted as they are handed to node. */
function logWhenDone(req: IncomingMessage, res: ServerResponse, accessLog: (line: string) => void): void {
  const t0 = performance.now();
  let bytes = 0;
  const write = res.write;
  const end = res.end;
  const count = (chunk: unknown) => {
    if (typeof chunk === "string") bytes += Buffer.byteLength(chunk);
    else if (chunk instanceof Uint8Array) bytes += chunk.byteLength;
  };
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    count(chunk);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof res.write;
  res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
    if (typeof chunk !== "function") count(chunk);
    return (end as (...a: unknown[]) => ServerResponse).call(this, chunk, ...rest);
  } as typeof res.end;
  res.once("close", () => {
    // node sends no body for HEAD, 204 and 304 whatever it is given.
    const none = req.method === "HEAD" || res.statusCode === 204 || res.statusCode === 304;
    accessLog(accessLine(req, res, none ? 0 : bytes, performance.now() - t0));
  });
}
