/**
 * Two things tsgi/deno reads from Deno's own objects instead of the public API, because the
 * public way costs more than the rest of the request (callgrind over bench/suites/runtimes.sh's
 * hello, Deno 2.9; raw Deno.serve is ~13k instructions per request):
 *
 * - The request's headers. `request.headers.forEach` materialises a Headers object, lower-cases,
 *   merges and sorts the names (+14.7k), and once `request.headers` has been read Deno finishes
 *   the response through a promise and copies the headers again. Deno's inner request (the value
 *   under the Request's "request" symbol) has a `headerList` getter that asks Rust for the list
 *   once, in wire order, repeats kept apart (+3.8k).
 * - A fetch app's response headers, checked for hop-by-hop names. Reading `response.headers`
 *   takes the Response off Deno's fast path for a static body (+2.4k on the fetch hello, and
 *   Deno's slower send after it); the inner response (under the "response" symbol) holds the
 *   list as the app gave it.
 *
 * Each is found by its symbol's description on the first object and checked for the shape we
 * use; where a Deno version differs, the public API is used (`internals()` says which, and
 * test/runtimes fails if the inner path stops being taken, so a Deno upgrade is noticed).
 */
import { HOP_BY_HOP } from "../../src/index.ts";

type Pair = [string, string];

/** The Request field holding Deno's inner request (null: not found; use the public API). */
let requestKey: symbol | null | undefined;
/** The Response field holding Deno's inner response. */
let responseKey: symbol | null | undefined;

/** The own symbol of `obj` described `name` whose value has a `headerList` (getter or array). */
function findKey(obj: object, name: string, getter: boolean): symbol | null {
  for (const s of Object.getOwnPropertySymbols(obj)) {
    if (s.description !== name) continue;
    const inner = (obj as Record<symbol, unknown>)[s];
    if (inner === null || typeof inner !== "object") continue;
    if (getter) {
      const desc = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(inner), "headerList");
      if (typeof desc?.get === "function") return s;
    } else if (Array.isArray((inner as { headerList?: unknown }).headerList)) {
      return s;
    }
  }
  return null;
}

function pushPair(this: string[], value: string, name: string): void {
  this.push(name, value);
}

/** The request's headers as a flat `[name, value, ...]` list, as received. */
export function rawHeadersOf(request: Request): string[] {
  if (requestKey === undefined) requestKey = findKey(request, "request", true);
  if (requestKey !== null) {
    let list: Pair[] | null = null;
    try {
      list = (request as unknown as Record<symbol, { headerList: Pair[] }>)[requestKey].headerList;
    } catch {
      // Deno says "Request closed" once the response is out; the public API may still have them.
    }
    if (Array.isArray(list)) {
      const raw: string[] = new Array(list.length * 2);
      for (let i = 0; i < list.length; i++) {
        raw[2 * i] = list[i][0];
        raw[2 * i + 1] = list[i][1];
      }
      return raw;
    }
  }
  const raw: string[] = [];
  request.headers.forEach(pushPair, raw);
  return raw;
}

/** Lengths of the hop-by-hop names: most header names are ruled out without lower-casing them. */
const HOP_LENGTHS = new Set([...HOP_BY_HOP].map((n) => n.length));

/**
 * Whether `response` carries a hop-by-hop header: true/false read from Deno's inner response,
 * null when it cannot be read that way (the caller then asks `response.headers`).
 */
export function responseHasHop(response: Response): boolean | null {
  if (responseKey === undefined) responseKey = findKey(response, "response", false);
  if (responseKey === null) return null;
  const list = (response as unknown as Record<symbol, { headerList?: Pair[] } | undefined>)[responseKey]?.headerList;
  if (!Array.isArray(list)) return null;
  for (let i = 0; i < list.length; i++) {
    const name = list[i][0];
    if (HOP_LENGTHS.has(name.length) && HOP_BY_HOP.has(name.toLowerCase())) return true;
  }
  return false;
}

/** Which path each reader takes: "inner" (Deno's objects), "public", or "unused" before the first call. */
export function internals(): { requestHeaders: string; responseHeaders: string } {
  const say = (k: symbol | null | undefined) => (k === undefined ? "unused" : k === null ? "public" : "inner");
  return { requestHeaders: say(requestKey), responseHeaders: say(responseKey) };
}
