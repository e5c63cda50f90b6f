/** Drive a sync (WSGI-style) app: startResponse, write(), the iterable, close() — PEP 3333 rules. */
import { checkFinalStatus, parseStatus, SpecError, validateHeaders } from "./headers.ts";
import { DONE, ResponseWriter, toBytes, utf8Length, type Log } from "./response.ts";
import type { Chunk, Environ, Header, ResponseBody, StartResponse, SyncApp } from "./spec.ts";

/** What to do with an app failure; the default answers 500 or aborts (see `fail`). */
export type OnError = (err: unknown) => void;

/** The call's state: what startResponse recorded, and the body whose close() is owed. */
class SyncCall {
  status = 0;
  reason = "";
  headers: Header[] | null = null;
  called = false;
  body: ResponseBody | undefined = undefined;
  closed = false;
  /** The write() callable handed out by startResponse. */
  readonly write: (chunk: Chunk) => void;
  /** The startResponse handed to the app. */
  readonly startResponse: StartResponse;

  constructor(readonly out: ResponseWriter, readonly log: Log, readonly label: string) {
    this.write = (chunk) => {
      if (this.headers === null) throw new SpecError("write-before-start", "write() called before startResponse()");
      const bytes = toBytes(chunk);
      if (bytes.length === 0) return;
      this.startIfNeeded();
      // write() is the legacy push API: it cannot wait, so backpressure applies only to iterables.
      void this.out.write(bytes);
    };
    this.startResponse = (s, h, excInfo) => {
      if (excInfo !== undefined && excInfo !== null) {
        // PEP 3333: too late to change the status once headers went out, so re-raise.
        if (this.out.sent) throw excInfo;
      } else if (this.called) {
        // PEP 3333: a second call without excInfo is fatal, even when the first one raised.
        throw new SpecError("start-response-twice", "startResponse() called a second time without excInfo");
      }
      this.called = true;
      const parsed = parseStatus(s);
      checkFinalStatus(parsed[0]);
      validateHeaders(h);
      this.status = parsed[0];
      this.reason = parsed[1];
      this.headers = h.slice();
      return this.write;
    };
  }

  /** Send the headers before the first body bytes, with the body's length when it is known. */
  startIfNeeded(knownLength?: number): void {
    if (this.out.sent) return;
    if (this.headers === null) throw new SpecError("no-start-response", "the app yielded body bytes before calling startResponse()");
    this.out.start(this.status, this.reason, this.headers, knownLength);
  }

  /** The body is exhausted: headers if none went out yet (an empty body), then the end. */
  finish(): void {
    const out = this.out;
    if (!out.sent && !out.sink.closed) {
      if (this.headers === null) throw new SpecError("no-start-response", "the app returned without calling startResponse()");
      out.start(this.status, this.reason, this.headers, 0);
    }
    out.end();
  }

  failed(err: unknown, onError: OnError | undefined): void {
    if (this.out.sink.closed) this.out.abort(err);
    else if (onError) onError(err);
    else fail(err, this.out, this.log, this.label);
  }

  close(): void {
    const body = this.body;
    if (this.closed || body === undefined || body === null) return;
    this.closed = true;
    try {
      // Only a real close method is called: a wrong return value (a string) is reported once, as body-iterable.
      const c = (body as { close?: unknown }).close;
      if (typeof c === "function") c.call(body);
    } catch (err) {
      this.log(`${this.label}: the body's close() raised: ${errorText(err)}`);
    }
  }

  /** Continue off the synchronous path: wait for `p`, then finish as the sync path would. */
  async continueAfter(p: Promise<void>, onError: OnError | undefined): Promise<void> {
    try {
      await p;
      this.finish();
    } catch (err) {
      this.failed(err, onError);
    } finally {
      this.close();
    }
  }
}


/**
 * Run `app` for one request; never rejects (failures become a 500 or an aborted response).
 * `onError` replaces that default, for bridges that hand the failure to an outer layer.
 * An array body that the sink takes without pushing back completes synchronously: no promise
 * is created on that path (it is the common case and the hot one).
 */
export function runSync(app: SyncApp, environ: Environ, out: ResponseWriter, log: Log, label: string, onError?: OnError): Promise<void> {
  const call = new SyncCall(out, log, label);
  try {
    const body = app(environ, call.startResponse);
    call.body = body;
    checkBody(body);
    let pending: Promise<void> | undefined;
    if (Array.isArray(body)) pending = sendArray(body, call);
    else if (Symbol.asyncIterator in body) pending = sendAsyncIterable(body as AsyncIterable<Chunk>, call);
    else pending = sendIterable(body as Iterable<Chunk>, call);
    if (pending !== undefined) return call.continueAfter(pending, onError);
    call.finish();
  } catch (err) {
    call.failed(err, onError);
  }
  call.close();
  return DONE;
}

function checkBody(body: unknown): asserts body is ResponseBody {
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
  if (!(Symbol.iterator in body) && !(Symbol.asyncIterator in body)) {
    throw new SpecError("body-iterable", "a sync app must return an iterable of chunks");
  }
}

/**
 * A list body: its length is known, so it goes out with Content-Length. Synchronous unless the
 * sink pushes back; then the promise covers the rest.
 */
function sendArray(body: Chunk[], call: SyncCall): Promise<void> | undefined {
  const out = call.out;
  if (body.length === 1) {
    const c = body[0];
    if (typeof c === "string" && out.sink.endWithText !== undefined) {
      // A one-string body goes to the sink as the string: no encode to bytes and back.
      if (c.length === 0) return undefined;
      const n = utf8Length(c);
      call.startIfNeeded(n);
      if (!out.sink.closed) out.endWithText(c, n);
      return undefined;
    }
    const b = toBytes(c);
    if (b.length === 0) return undefined; // headers go out at the end, with Content-Length 0
    call.startIfNeeded(b.length);
    if (out.sink.closed) return undefined;
    if (out.sink.endWith !== undefined) out.endWith(b);
    else return out.write(b) ?? undefined;
    return undefined;
  }
  const bytes: Uint8Array[] = new Array(body.length);
  let total = 0;
  for (let i = 0; i < body.length; i++) {
    bytes[i] = toBytes(body[i]);
    total += bytes[i].length;
  }
  if (total === 0) return undefined;
  call.startIfNeeded(total);
  for (let i = 0; i < bytes.length; i++) {
    if (out.sink.closed) return undefined;
    const p = out.write(bytes[i]);
    if (p) return p.then(() => writeRest(bytes, i + 1, out));
  }
  return undefined;
}

async function writeRest(bytes: Uint8Array[], from: number, out: ResponseWriter): Promise<void> {
  for (let i = from; i < bytes.length; i++) {
    if (out.sink.closed) return;
    const p = out.write(bytes[i]);
    if (p) await p;
  }
}

async function sendIterable(body: Iterable<Chunk>, call: SyncCall): Promise<void> {
  const out = call.out;
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
      call.startIfNeeded();
      const p = out.write(b);
      if (p) await p;
    }
  } finally {
    // An iterator abandoned early (disconnect, error) gets return() so its finally blocks run.
    if (!finished) it.return?.();
  }
}

async function sendAsyncIterable(body: AsyncIterable<Chunk>, call: SyncCall): Promise<void> {
  const out = call.out;
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
      call.startIfNeeded();
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
