/**
 * The app's Response on its way to @hono/node-server (adapters/hono/node.ts), held to the rules
 * the core applies to fetch apps (SPEC.md §6) without losing @hono/node-server's fast path for
 * string and bytes bodies:
 * - fetch-hop-by-hop: Connection, Transfer-Encoding, Upgrade... from the app are dropped;
 * - a streamed body whose first chunk is there at once is looked at first, so a stream that fails
 *   straight away is a 500; a failure after the headers went out cuts the connection (the client
 *   sees the response is incomplete); either way one log line, as the core writes, instead of
 *   @hono/node-server's console.error of the stack.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { HOP_BY_HOP } from "../../src/index.ts";

/** One line in the server's log. */
export type Log = (line: string) => void;

const TEXT = { "content-type": "text/plain; charset=utf-8" };

/** A 500 for an app that failed before its response started, logged as the core does. */
export function failed(log: Log, req: IncomingMessage, err: unknown): Response {
  log(`${req.method} ${req.url}: app failed; answered 500: ${errorText(err)}`);
  return new Response("Internal Server Error\n", { status: 500, headers: TEXT });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.stack ?? `${err.name}: ${err.message}` : String(err);
}

/** `r` as it may go out: hop-by-hop headers dropped, a streamed body guarded. */
export function checked(r: Response, log: Log, req: IncomingMessage, res: ServerResponse): Response | Promise<Response> {
  const cache = CACHE === null ? undefined : (r as unknown as Record<symbol, unknown[] | undefined>)[CACHE];
  // Reading `body` or `headers` turns @hono/node-server's stand-in into a real Response (and off
  // its fast path): the stand-in's cache, when there is one, says what it was made with.
  const body = cache !== undefined ? cache[1] : r.body;
  if (body !== null && typeof (body as ReadableStream).getReader === "function") return guarded(r, log, req, res);
  if (cache !== undefined) {
    const init = cache[2];
    if (init === undefined || init === null) return r;
    if (!(init instanceof Headers)) return hasHop(init as Record<string, string> | [string, string][]) ? rebuilt(r, r.body) : r;
  }
  const seen = { hop: false };
  r.headers.forEach(findHop, seen);
  return seen.hop ? rebuilt(r, r.body) : r;
}

function hasHop(init: Record<string, string> | [string, string][]): boolean {
  if (Array.isArray(init)) {
    for (const pair of init) if (HOP_BY_HOP.has(pair[0].toLowerCase())) return true;
    return false;
  }
  for (const name in init) if (HOP_BY_HOP.has(name.toLowerCase())) return true;
  return false;
}

function findHop(this: { hop: boolean }, _value: string, name: string): void {
  if (HOP_BY_HOP.has(name)) this.hop = true;
}

/** A new Response over `body` with `r`'s status and headers, hop-by-hop ones left out. */
function rebuilt(r: Response, body: ReadableStream<Uint8Array> | null): Response {
  const kept = new Headers();
  r.headers.forEach((value, name) => {
    if (!HOP_BY_HOP.has(name) && name !== "set-cookie") kept.append(name, value);
  });
  for (const c of r.headers.getSetCookie()) kept.append("set-cookie", c);
  return new Response(body, { status: r.status, statusText: r.statusText, headers: kept });
}

/**
 * The streamed body, its first chunk looked at before the headers go out when it is there at
 * once (as @hono/node-server itself does): a stream that fails straight away is a 500. A stream
 * whose first chunk takes longer (an SSE stream waiting for its first event) sends its headers
 * now, and a failure from then on cuts the connection.
 */
async function guarded(r: Response, log: Log, req: IncomingMessage, res: ServerResponse): Promise<Response> {
  const reader = r.body!.getReader();
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = reader.read();
  pending.catch(() => {}); // observed by pull(), unless the client leaves first
  let held: ReadableStreamReadResult<Uint8Array> | undefined;
  try {
    held = await Promise.race([pending, notYet()]);
  } catch (err) {
    return failed(log, req, err);
  }
  if (held !== undefined) pending = null;
  const stream = new ReadableStream<Uint8Array>({
    async pull(c) {
      try {
        let next: ReadableStreamReadResult<Uint8Array>;
        if (held !== undefined) {
          next = held;
          held = undefined;
        } else if (pending !== null) {
          next = await pending;
          pending = null;
        } else {
          next = await reader.read();
        }
        if (next.done) c.close();
        else c.enqueue(next.value);
      } catch (err) {
        log(`${req.method} ${req.url}: app failed after the response started; connection aborted: ${errorText(err)}`);
        // This pull never settles and the stream is not errored: @hono/node-server cancels it
        // quietly when the response closes.
        cut(res);
        return new Promise<void>(() => {});
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return rebuilt(r, stream);
}

/** Settles with undefined after a few microtasks: enough for a chunk that is already queued. */
function notYet(): Promise<undefined> {
  return Promise.resolve().then(() => Promise.resolve(undefined));
}

/** How long a cut response may take to flush what the app produced before its socket is destroyed. */
const CUT_FLUSH_MS = 5000;

/**
 * End a response that went out in part. The only way to tell an HTTP/1.1 client the body is
 * incomplete is to close the connection without the last chunk (RFC 9112 §8); end() rather than
 * destroy() so that the bytes still queued (node corks a response's writes until the next tick)
 * reach the client, as adapters/node's sink does.
 */
function cut(res: ServerResponse): void {
  const sock = res.socket;
  if (sock === null || sock.destroyed) return void res.destroy();
  sock.end();
  setTimeout(() => sock.destroy(), CUT_FLUSH_MS).unref();
}

/** The own symbol under which @hono/node-server's Response keeps `[status, body, headersInit]`. */
let CACHE: symbol | null = null;
let probed = false;

/** Find CACHE, once the global Response is @hono/node-server's (after getRequestListener). */
export function probeResponseCache(): void {
  if (probed) return;
  probed = true;
  const marker = { "x-probe": "1" };
  const r = new Response("", { headers: marker }) as unknown as Record<symbol, unknown>;
  for (const s of Object.getOwnPropertySymbols(r)) {
    const v = r[s];
    if (Array.isArray(v) && v[2] === marker) CACHE = s;
  }
}
