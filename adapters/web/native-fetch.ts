/**
 * Fetch-style apps (a Hono app, `export default { fetch }`) on a runtime whose server already
 * speaks Fetch (Bun.serve, Deno.serve): the runtime's own Request goes to the app, and the
 * app's Response goes back to the runtime. Rebuilding either would copy headers, URL and body
 * stream for nothing; what the core would give the app (SPEC.md §6) is the same: an absolute
 * URL, headers as received, a body stream with backpressure, a signal that aborts on
 * disconnect, and the environ as second argument. The runtime frames the response (Content-
 * Length, chunking, HEAD), so only the rules it does not cover are applied here:
 * `fetch-response` (a Response or a 500) and `fetch-hop-by-hop` (dropped, not sent).
 *
 * Requests whose body the runtime cannot bound for us (chunked, or over maxBody) take the
 * core's path instead, where the body limit applies.
 */
import { environFromHttp, HOP_BY_HOP, MemoryInput, type Environ, type FetchHandler, type FetchObject, type Gateway, type HttpHead } from "../../src/index.ts";
import { targetOf } from "./request.ts";

const EMPTY = new Uint8Array(0);

/**
 * True when `request` may bypass the core: the Gateway runs a fetch app and the request has no
 * body, or one whose Content-Length is within the Gateway's `maxBody`.
 */
export function canPassThrough(gateway: Gateway, request: Request): boolean {
  if (gateway.kind !== "fetch") return false;
  if (request.body === null) return true;
  const cl = request.headers.get("content-length");
  if (cl === "0") return true;
  return cl !== null && /^\d{1,15}$/.test(cl) && Number(cl) <= gateway.maxBody;
}

/**
 * Whether a Response carries a hop-by-hop header, read the runtime's own way; null: unknown,
 * ask `response.headers` (reading that takes a Response off Deno's fast path; see
 * adapters/deno/internals.ts).
 */
export type HopCheck = (response: Response) => boolean | null;

const unknownHop: HopCheck = () => null;

/** Call the gateway's fetch app with the runtime's Request and the environ; never throws. */
export function passThrough(gateway: Gateway, request: Request, head: HttpHead, hasHop: HopCheck = unknownHop): Response | Promise<Response> {
  return callApp(gateway, request, gateway.environ(environFromHttp(head, { mount: gateway.mount }), new MemoryInput(EMPTY)), hasHop);
}

/** Call the gateway's fetch app with the runtime's Request and `env` (e.g. a lazy environ); never throws. */
export function callApp(gateway: Gateway, request: Request, env: Environ, hasHop: HopCheck = unknownHop): Response | Promise<Response> {
  const app = gateway.app as FetchHandler | FetchObject;
  let result: Response | Promise<Response>;
  try {
    result = typeof app === "function" ? app(request, env as never) : app.fetch(request, env as never);
  } catch (err) {
    return failed(gateway, request, err);
  }
  if (result instanceof Response) return checked(result, hasHop);
  if (result !== null && typeof (result as Promise<Response>)?.then === "function") {
    return (result as Promise<Response>).then((r) => (r instanceof Response ? checked(r, hasHop) : notAResponse(gateway, request, r)), (err) => failed(gateway, request, err));
  }
  return notAResponse(gateway, request, result);
}

/** The Response without hop-by-hop headers (a proxied upstream's Connection, Keep-Alive...). */
function checked(r: Response, hasHop: HopCheck): Response {
  const known = hasHop(r);
  if (known === false) return r;
  const h = r.headers;
  if (known === null) {
    // One pass over the (few) response headers: cheaper than a has() per hop-by-hop name.
    const seen = { hop: false };
    h.forEach(findHop, seen);
    if (!seen.hop) return r;
  }
  const kept = new Headers();
  for (const [name, value] of h) if (!HOP_BY_HOP.has(name) && name !== "set-cookie") kept.append(name, value);
  for (const c of h.getSetCookie()) kept.append("set-cookie", c);
  return new Response(r.body, { status: r.status, statusText: r.statusText, headers: kept });
}

function findHop(this: { hop: boolean }, _value: string, name: string): void {
  if (HOP_BY_HOP.has(name)) this.hop = true;
}

function notAResponse(gateway: Gateway, request: Request, value: unknown): Response {
  return failed(gateway, request, new TypeError(`[fetch-response] a fetch handler must return a Response, got ${value === null ? "null" : typeof value}`));
}

function failed(gateway: Gateway, request: Request, err: unknown): Response {
  gateway.log(`${request.method} ${targetOf(request.url)}: app failed; answered 500: ${err instanceof Error ? err.stack : String(err)}`);
  return new Response(request.method === "HEAD" ? null : "Internal Server Error\n", { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } });
}
