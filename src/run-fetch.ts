/** Drive a fetch-style app ((Request) => Response, or an object with fetch()) for one request. */
import { HOP_BY_HOP, reasonPhrase, SpecError, validateHeaders } from "./headers.ts";
import { BodyIncomplete, BodyTooLarge } from "./input.ts";
import type { BodySource } from "./request.ts";
import { ResponseWriter, type Log } from "./response.ts";
import { fail } from "./run-sync.ts";
import type { FetchHandler, FetchObject, Header } from "./spec.ts";

/** Percent-encode bytes above 0x7F (and spaces) so a byte-string target is a valid URL path. */
export function urlSafe(target: string): string {
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c > 126 || c <= 32) return encodeBytes(target);
  }
  return target;
}
function encodeBytes(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c > 126 || c <= 32 ? "%" + (c < 16 ? "0" : "") + c.toString(16).toUpperCase() : s[i];
  }
  return out;
}

/** The absolute URL of a request, from CGI keys (REQUEST_URI when present, else reassembled). */
export function requestUrl(env: Record<string, string>): string {
  const scheme = env.HTTPS === "on" ? "https" : "http";
  const port = env.SERVER_PORT;
  const host = env.HTTP_HOST || env.SERVER_NAME + (port === (scheme === "https" ? "443" : "80") ? "" : ":" + port);
  let target = env.REQUEST_URI;
  if (target === undefined || target.charCodeAt(0) !== 47) {
    target = encodeBytes(env.SCRIPT_NAME + env.PATH_INFO) + (env.QUERY_STRING ? "?" + env.QUERY_STRING : "");
  }
  return scheme + "://" + host + urlSafe(target);
}

/** Turn an async iterable of bytes into a pull-based ReadableStream (backpressure preserved). */
export function iterableToStream(body: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const it = body[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const r = await it.next();
      if (r.done) controller.close();
      else controller.enqueue(r.value);
    },
    async cancel() {
      await it.return?.();
    },
  }, { highWaterMark: 0 });
}

/**
 * body-cap: the body cut at the announced length. It keeps reading (and dropping) what comes
 * after instead of returning early, since `return()` on a Node request stream destroys the socket.
 */
export async function* capBody(body: AsyncIterable<Uint8Array>, length: number): AsyncGenerator<Uint8Array> {
  let left = length;
  for await (const chunk of body) {
    if (left <= 0) continue;
    const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
    left -= part.length;
    yield part;
  }
}

/** Build a WHATWG Request from CGI keys and the body source. */
export function toRequest(env: Record<string, string>, headers: Header[], body: BodySource, signal?: AbortSignal): Request {
  return new Request(requestUrl(env), requestInit(env, headers, body, signal));
}

/**
 * The Request a server hands to a fetch app: `signal` is made on first use and aborted when the
 * client goes away. Giving the Request constructor a signal instead makes Node's undici follow it
 * with a listener and a FinalizationRegistry entry per request; at ~15k req/s that held ~300 MB
 * and caused 70-180 ms p99 stalls (GC) and ~40% less throughput (bench/suites/http.sh,
 * tsgi-hono). Most apps never read `request.signal`, so most requests now make no signal.
 */
interface ServerRequest extends Request {
  /** The client went away: abort `signal`. */
  disconnect(): void;
}

// Made on first use: a module-level `extends Request` costs Bun ~60K instructions and ~9 page
// faults (~0.15 ms) of every CGI process that loads this module, fetch app or not.
let serverRequest: (new (input: string, init: RequestInit) => ServerRequest) | undefined;

function requestClass(): new (input: string, init: RequestInit) => ServerRequest {
  return (serverRequest ??= class extends Request {
    #ac: AbortController | null = null;
    #gone = false;
    override get signal(): AbortSignal {
      if (this.#ac === null) {
        this.#ac = new AbortController();
        if (this.#gone) this.#ac.abort();
      }
      return this.#ac.signal;
    }
    disconnect(): void {
      this.#gone = true;
      this.#ac?.abort();
    }
  });
}

function requestInit(env: Record<string, string>, headers: Header[], body: BodySource, signal?: AbortSignal): RequestInit {
  const h = new Headers();
  for (const [name, value] of headers) {
    try {
      h.append(name, value);
    } catch {
      // A header value the Fetch API cannot hold (it refuses some bytes): leave it out.
    }
  }
  const method = env.REQUEST_METHOD;
  const init: RequestInit & { duplex?: "half" } = { method, headers: h };
  if (signal !== undefined) init.signal = signal;
  if (body !== null && method !== "GET" && method !== "HEAD") {
    init.body = iterableToStream(body);
    init.duplex = "half"; // required by Node's fetch for a streamed request body
  }
  return init;
}

/** A Response's headers as a list: hop-by-hop dropped, Set-Cookie lines kept apart. */
export function responseHeaders(response: Response): Header[] {
  const out: Header[] = [];
  // Set-Cookie lines must stay apart; getSetCookie() is the one accessor that keeps them so.
  const cookies = typeof response.headers.getSetCookie === "function" ? response.headers.getSetCookie() : null;
  response.headers.forEach((value, name) => {
    if (HOP_BY_HOP.has(name) || (cookies !== null && name === "set-cookie")) return;
    out.push([name, value]);
  });
  if (cookies !== null) for (const c of cookies) out.push(["set-cookie", c]);
  return out;
}

export async function runFetch(
  app: FetchHandler | FetchObject, env: Record<string, string>, headers: Header[], body: BodySource,
  context: unknown, out: ResponseWriter, log: Log, label: string,
): Promise<void> {
  let request: ServerRequest | undefined;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  out.sink.onClose(() => {
    request?.disconnect();
    reader?.cancel().catch(() => {});
  });
  // A body over the limit or cut short surfaces inside the app as a failed stream; remember it
  // so the client gets 413/400 rather than a 500 that blames the app.
  let bodyError: BodyTooLarge | BodyIncomplete | null = null;
  if (body !== null) body = watchBody(body, (err) => (bodyError = err));
  try {
    try {
      request = new (requestClass())(requestUrl(env), requestInit(env, headers, body));
    } catch (err) {
      // request-url: a Host that makes no valid URL is the client's error, not the app's.
      log(`${label}: Host ${JSON.stringify(env.HTTP_HOST ?? env.SERVER_NAME)} makes no valid URL (${err instanceof Error ? err.message : String(err)}); answered 400`);
      out.fail(400, "Bad Request", "invalid Host header\n");
      return;
    }
    const response = typeof app === "function" ? await app(request, context as never) : await app.fetch(request, context as never);
    if (!(response instanceof Response)) {
      throw new SpecError("fetch-response", `a fetch handler must return a Response, got ${response === null ? "null" : typeof response}`);
    }
    // A framework that turns errors into responses (Hono's onError: a 500) would hide a body over
    // the limit or cut short: that is the client's error, answered 413/400 as if the app threw.
    const failedBody = bodyError as BodyTooLarge | BodyIncomplete | null;
    if (failedBody !== null && response.status >= 500) {
      response.body?.cancel().catch(() => {});
      throw failedBody;
    }
    const outHeaders = responseHeaders(response);
    validateHeaders(outHeaders);
    const status = response.status;
    const reason = response.statusText || reasonPhrase(status);
    if (response.body === null) {
      out.start(status, reason, outHeaders, env.REQUEST_METHOD === "HEAD" ? undefined : 0);
      out.end();
      return;
    }
    reader = response.body.getReader();
    // Read one chunk ahead: a body that is a single chunk goes out with Content-Length.
    let first = await reader.read();
    if (first.done) {
      out.start(status, reason, outHeaders, env.REQUEST_METHOD === "HEAD" ? undefined : 0);
      out.end();
      return;
    }
    let next = await reader.read();
    out.start(status, reason, outHeaders, next.done && env.REQUEST_METHOD !== "HEAD" ? first.value.length : undefined);
    let p = out.write(first.value);
    if (p) await p;
    while (!next.done) {
      if (out.sink.closed) break; // end() turns into the sink's abort
      p = out.write(next.value);
      if (p) await p;
      next = await reader.read();
    }
    out.end();
  } catch (err) {
    const be = bodyError as BodyTooLarge | BodyIncomplete | null;
    if (be !== null && !out.sent && !out.sink.closed) {
      const tooLarge = be instanceof BodyTooLarge;
      log(`${label}: ${be.message}; answered ${tooLarge ? 413 : 400}`);
      out.fail(tooLarge ? 413 : 400, tooLarge ? "Content Too Large" : "Bad Request", be.message + "\n");
      return;
    }
    if (!out.sink.closed) fail(err, out, log, label);
    else out.abort(err);
  }
}

/** Pass the body through, reporting a size-limit or truncation error to `onError` as it passes. */
async function* watchBody(body: AsyncIterable<Uint8Array>, onError: (err: BodyTooLarge | BodyIncomplete) => void): AsyncGenerator<Uint8Array> {
  try {
    yield* body;
  } catch (err) {
    if (err instanceof BodyTooLarge || err instanceof BodyIncomplete) onError(err);
    throw err;
  }
}
