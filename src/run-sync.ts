/** Drive a sync (WSGI-style) app: startResponse, write(), the iterable, close() — PEP 3333 rules. */
import { checkFinalStatus, parseStatus, SpecError, validateHeaders } from "./headers.ts";
import { ResponseWriter, toBytes, type Log } from "./response.ts";
import type { Chunk, Environ, ExcInfo, Header, ResponseBody, SyncApp } from "./spec.ts";

/** What to do with an app failure; the default answers 500 or aborts (see `fail`). */
export type OnError = (err: unknown) => void;

/**
 * Run `app` for one request; never throws (failures become a 500 or an aborted response).
 * `onError` replaces that default, for bridges that hand the failure to an outer layer.
 */
export async function runSync(app: SyncApp, environ: Environ, out: ResponseWriter, log: Log, label: string, onError?: OnError): Promise<void> {
  let status = 0;
  let reason = "";
  let headers: Header[] | null = null;
  let called = false;

  const write = (chunk: Chunk): void => {
    if (headers === null) throw new SpecError("write-before-start", "write() called before startResponse()");
    const bytes = toBytes(chunk);
    if (bytes.length === 0) return;
    if (!out.sent) out.start(status, reason, headers);
    // write() is the legacy push API: it cannot wait, so backpressure applies only to iterables.
    void out.write(bytes);
  };

  const startResponse = (s: string, h: Header[], excInfo?: ExcInfo) => {
    if (excInfo !== undefined && excInfo !== null) {
      // PEP 3333: too late to change the status once headers went out, so re-raise.
      if (out.sent) throw excInfo;
    } else if (called) {
      // PEP 3333: a second call without excInfo is fatal, even when the first one raised.
      throw new SpecError("start-response-twice", "startResponse() called a second time without excInfo");
    }
    called = true;
    const parsed = parseStatus(s);
    checkFinalStatus(parsed[0]);
    validateHeaders(h);
    status = parsed[0];
    reason = parsed[1];
    headers = h.slice();
    return write;
  };

  let body: ResponseBody | undefined;
  let closed = false;
  const close = () => {
    if (closed || body === undefined || body === null) return;
    closed = true;
    try {
      // Only a real close method is called: a wrong return value (a string) is reported once, as body-iterable.
      const c = (body as { close?: unknown }).close;
      if (typeof c === "function") c.call(body);
    } catch (err) {
      log(`${label}: the body's close() raised: ${errorText(err)}`);
    }
  };

  try {
    body = app(environ, startResponse);
    if (body === null || typeof body !== "object" && typeof body !== "function") {
      throw new SpecError("body-iterable", `a sync app must return an iterable of chunks, got ${body === null ? "null" : typeof body}`);
    }
    if (typeof (body as { then?: unknown }).then === "function") {
      throw new SpecError("body-iterable", "a sync app returned a Promise; async apps take (scope, receive, send)");
    }
    if (body instanceof Uint8Array) {
      // Iterating bytes yields numbers; PEP 3333's validators reject a bare bytestring too.
      throw new SpecError("body-iterable", "a sync app must return an iterable of chunks, not one Uint8Array: return [bytes]");
    }
    if (Array.isArray(body)) await sendArray(body, out, () => headers, () => [status, reason]);
    else if (Symbol.asyncIterator in body) await sendAsyncIterable(body as AsyncIterable<Chunk>, out, () => headers, () => [status, reason]);
    else if (Symbol.iterator in body) await sendIterable(body as Iterable<Chunk>, out, () => headers, () => [status, reason]);
    else throw new SpecError("body-iterable", "a sync app must return an iterable of chunks");

    if (!out.sent && !out.sink.closed) {
      if (headers === null) throw new SpecError("no-start-response", "the app returned without calling startResponse()");
      out.start(status, reason, headers, 0);
    }
    out.end();
  } catch (err) {
    if (out.sink.closed) out.abort(err);
    else if (onError) onError(err);
    else fail(err, out, log, label);
  } finally {
    close();
  }
}

type HeadersRef = () => Header[] | null;
type StatusRef = () => [number, string];

function needHeaders(headers: Header[] | null): Header[] {
  if (headers === null) throw new SpecError("no-start-response", "the app yielded body bytes before calling startResponse()");
  return headers;
}

/** A list body: its length is known, so it goes out with Content-Length in one go. */
async function sendArray(body: Chunk[], out: ResponseWriter, headersRef: HeadersRef, statusRef: StatusRef): Promise<void> {
  const bytes: Uint8Array[] = new Array(body.length);
  let total = 0;
  for (let i = 0; i < body.length; i++) {
    bytes[i] = toBytes(body[i]);
    total += bytes[i].length;
  }
  if (total === 0) return; // headers go out at the end, with Content-Length 0
  if (!out.sent) {
    const [s, r] = statusRef();
    out.start(s, r, needHeaders(headersRef()), total);
  }
  for (const b of bytes) {
    if (out.sink.closed) return;
    const p = out.write(b);
    if (p) await p;
  }
}

async function sendIterable(body: Iterable<Chunk>, out: ResponseWriter, headersRef: HeadersRef, statusRef: StatusRef): Promise<void> {
  const it = body[Symbol.iterator]();
  let finished = false;
  try {
    for (;;) {
      if (out.sink.closed) return;
      const r = it.next();
      if (r.done) {
        finished = true;
        return;
      }
      const b = toBytes(r.value);
      if (b.length === 0) continue; // headers wait for the first non-empty chunk (PEP 3333)
      if (!out.sent) {
        const [s, rs] = statusRef();
        out.start(s, rs, needHeaders(headersRef()));
      }
      const p = out.write(b);
      if (p) await p;
    }
  } finally {
    // An iterator abandoned early (disconnect, error) gets return() so its finally blocks run.
    if (!finished) it.return?.();
  }
}

async function sendAsyncIterable(body: AsyncIterable<Chunk>, out: ResponseWriter, headersRef: HeadersRef, statusRef: StatusRef): Promise<void> {
  const it = body[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      if (out.sink.closed) return;
      const r = await it.next();
      if (r.done) {
        finished = true;
        return;
      }
      const b = toBytes(r.value);
      if (b.length === 0) continue;
      if (!out.sent) {
        const [s, rs] = statusRef();
        out.start(s, rs, needHeaders(headersRef()));
      }
      const p = out.write(b);
      if (p) await p;
    }
  } finally {
    if (!finished) await it.return?.();
  }
}

/** An app failure: a 500 if nothing went out, else a visibly truncated response. One log line. */
export function fail(err: unknown, out: ResponseWriter, log: Log, label: string): void {
  if (out.sink.closed) return;
  if (out.done) {
    log(`${label}: app failed after its response was complete: ${errorText(err)}`);
    return;
  }
  log(`${label}: ${out.sent ? "app failed after the response started; connection aborted" : "app failed; answered 500"}: ${errorText(err)}`);
  out.fail(500, "Internal Server Error", "Internal Server Error\n");
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}
