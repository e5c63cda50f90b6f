/**
 * Any tsgi app as a WHATWG fetch handler, `(Request) => Promise<Response>`: for Bun.serve,
 * Deno.serve, Cloudflare-style hosts, or Hono's `app.mount`. The request goes through the real
 * Gateway, so the app sees exactly what a server would give it; both bodies stream, with
 * backpressure (the app produces the next chunk when the Response's reader pulls).
 *
 * `FetchSink` is the core's ResponseSink as a Response, shared with the servers whose handler
 * returns one (adapters/bun, adapters/deno, tsgi/hono's `tsgi()` handler). A complete body known
 * up front (Content-Length with one chunk, or no body at all) becomes a plain `Response(bytes)`
 * with no promise and no stream, so a hello world costs neither; anything else streams through a
 * pull-based ReadableStream, and `write()` waits for the next pull once the stream's queue is
 * full: that is how a slow client slows the app.
 */
import { appKind } from "../kind.ts";
import { Gateway, type GatewayOptions } from "../gateway.ts";
import type { HttpHead, ResponseSink } from "../request.ts";
import { statusHasNoBody } from "../headers.ts";
import type { App, FetchHandler, FetchObject, Header } from "../spec.ts";

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
    const sink = new FetchSink(request.method === "HEAD");
    const body = request.body === null ? null : streamBody(request.body);
    const done = gateway.handleHttp(headFromRequest(request), body, sink);
    if (sink.complete) return sink.response!;
    // A runtime's server aborts the signal when the client goes away (Bun, Deno); the signal
    // is made only for streamed responses, since undici builds it on first use.
    request.signal.addEventListener("abort", () => sink.disconnect(), { once: true });
    done.catch((err) => sink.abort(err));
    return sink.ready();
  };
}

/** How a server takes the Responses a FetchSink builds. */
export interface FetchSinkOptions {
  /**
   * The server writes Content-Length and the reason phrase itself (Bun.serve, Deno.serve): a
   * Response with a whole body leaves Content-Length out, "OK" for 200 unsaid, and its headers
   * as a record when no name repeats exactly. Each is work Bun and Deno would do per response
   * (WebIDL conversion of a pair list, one more header): ~1-2 µs on Deno 2.9 together.
   */
  framed?: boolean;
  /**
   * Small ASCII bodies go as a string: Deno copies a byte body (BufferSource) but hands a
   * string to its HTTP layer as is (~0.5 µs per response). Bytes < 0x80 are the same in UTF-8.
   */
  textBodies?: boolean;
}

/** Largest body turned into a string under `textBodies` (the check and decode must stay cheap). */
const TEXT_MAX = 256;

/** The bytes as a string when all are ASCII, else null. */
function asciiText(b: Uint8Array): string | null {
  for (let i = 0; i < b.length; i++) if (b[i] > 127) return null;
  return String.fromCharCode.apply(null, b as unknown as number[]);
}

/** ResponseInit for a framed server: see FetchSinkOptions.framed. `skip`: Content-Length's index, or -1. */
function framedInit(status: number, reason: string, headers: Header[], skip: number): ResponseInit {
  const init: ResponseInit = status === 200 && reason === "OK" ? { status } : { status, statusText: reason };
  // A record gives each name to Headers#append as pairs would; an exact repeat (two Set-Cookie)
  // or a name the record cannot hold (__proto__, inherited keys) needs the pairs.
  const record: Record<string, string> = {};
  for (let i = 0; i < headers.length; i++) {
    if (i === skip) continue;
    const h = headers[i];
    if (record[h[0]] !== undefined) {
      init.headers = skip < 0 ? headers : headers.filter((_, j) => j !== skip);
      return init;
    }
    record[h[0]] = h[1];
  }
  init.headers = record;
  return init;
}

const EMPTY = new Uint8Array(0);
const ABORTED = "tsgi: response aborted: ";

/** True for the reason a FetchSink errors its stream with (the core has logged the cause). */
export function isAbort(err: unknown): boolean {
  return typeof err === "string" && err.startsWith(ABORTED);
}

export class FetchSink implements ResponseSink {
  /** Set as soon as the Response can be handed to the runtime. */
  response: Response | null = null;
  private resolveReady: ((r: Response) => void) | null = null;
  private init: ResponseInit | null = null;
  /** Declared body length when the whole body may still fit in one plain Response; else -1. */
  private expect = -1;
  /** Index of the Content-Length header in the response headers, or -1. */
  private lengthAt = -1;
  private controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  private pull: (() => void) | null = null;
  /** An abort that waits for queued chunks to be taken first (else the runtime drops them). */
  private failure: string | null = null;
  private listeners: (() => void)[] | null = null;
  private gone = false;
  private finished = false;

  private readonly framed: boolean;
  private readonly textBodies: boolean;

  /** `noBody`: the request was HEAD, so the runtime sends no body whatever the headers say. */
  constructor(private readonly noBody = false, options: FetchSinkOptions = {}) {
    this.framed = options.framed === true;
    this.textBodies = options.textBodies === true;
  }

  /** The Response, now (fast path) or once headers are known. */
  ready(): Response | Promise<Response> {
    if (this.response !== null) return this.response;
    return new Promise<Response>((resolve) => (this.resolveReady = resolve));
  }

  /** True when the Response is built and carries its whole body (no stream left to feed). */
  get complete(): boolean {
    return this.response !== null && this.controller === null;
  }

  get closed(): boolean {
    return this.gone;
  }

  onClose(listener: () => void): void {
    (this.listeners ??= []).push(listener);
  }

  /** The peer went away (request signal aborted, or the runtime cancelled the body stream). */
  disconnect(): void {
    if (this.gone || this.finished) return;
    this.gone = true;
    const wake = this.pull;
    this.pull = null;
    wake?.();
    const ls = this.listeners;
    this.listeners = null;
    if (ls) for (const l of ls) l();
  }

  start(status: number, reason: string, headers: Header[]): void {
    // An array of pairs is a valid HeadersInit: repeated Set-Cookie lines stay separate.
    this.init = { status, statusText: reason, headers };
    if (this.noBody || statusHasNoBody(status)) return this.respond(null);
    for (let i = 0; i < headers.length; i++) {
      const name = headers[i][0];
      if (name.length === 14 && name.toLowerCase() === "content-length") {
        this.expect = Number(headers[i][1]);
        this.lengthAt = i;
        if (this.expect === 0) return this.respond(null);
        return; // wait for the first chunk: it may be the whole body
      }
    }
    this.open();
  }

  write(chunk: Uint8Array): void | Promise<void> {
    if (this.finished || this.gone) return;
    if (this.controller === null) {
      if (this.response !== null) return; // body already complete (HEAD, 204, Content-Length reached)
      if (chunk.length === this.expect) {
        // The core never writes past Content-Length, so this chunk is the whole body.
        this.finished = true;
        return this.whole(chunk);
      }
      this.open();
    }
    const c = this.controller!;
    c.enqueue(chunk);
    if ((c.desiredSize ?? 0) > 0) return;
    return new Promise<void>((resolve) => (this.pull = resolve));
  }

  /** The last chunk and the end in one step: a body known whole is a plain Response, no stream. */
  endWith(chunk: Uint8Array): void {
    if (this.finished || this.gone) return;
    this.finished = true;
    const c = this.controller;
    if (c !== null) {
      c.enqueue(chunk);
      c.close();
    } else if (this.response === null) {
      // The core calls endWith only with exactly the declared rest of the body: it is all of it.
      this.whole(chunk);
    }
  }

  end(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.controller !== null) this.controller.close();
    else if (this.response === null) this.respond(null);
  }

  abort(reason: unknown): void {
    if (this.finished && this.controller === null) return;
    this.finished = true;
    // An errored body stream makes the runtime cut the connection, so the client sees the
    // response is incomplete (no terminating chunk, or fewer bytes than Content-Length).
    if (this.controller === null) {
      if (this.response !== null) return;
      this.open();
    }
    const err = `${ABORTED}${reason instanceof Error ? reason.message : String(reason)}`;
    const c = this.controller!;
    // Chunks still queued would be lost with the error: error on the next pull, which comes
    // when the runtime has taken them.
    if ((c.desiredSize ?? 1) < 1) this.failure = err;
    else this.fail(err);
  }

  /**
   * Error the stream one macrotask later: Bun resets the socket at once on a stream error and
   * drops what it has read from the stream but not yet written (headers and the last chunk).
   */
  private fail(err: string): void {
    setTimeout(() => {
      try {
        // A string, not an Error: runtimes print what they get, and a stack would add noise
        // to the one line the core already logged.
        this.controller!.error(err);
      } catch { /* already closed */ }
    }, 0);
  }

  private whole(chunk: Uint8Array): void {
    if (!this.framed) return this.respond(chunk as Uint8Array<ArrayBuffer>);
    const init = this.init!;
    this.init = framedInit(init.status!, init.statusText!, init.headers as Header[], this.lengthAt);
    const text = this.textBodies && chunk.length <= TEXT_MAX ? asciiText(chunk) : null;
    this.respond(text ?? (chunk as Uint8Array<ArrayBuffer>));
  }

  private open(): void {
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.controller = controller;
      },
      pull: () => {
        if (this.failure !== null) return this.fail(this.failure);
        const wake = this.pull;
        this.pull = null;
        wake?.();
      },
      cancel: () => this.disconnect(),
    }, { highWaterMark: 1, size: () => 1 });
    this.respond(stream);
  }

  private respond(body: BodyInit | null): void {
    const r = new Response(body === EMPTY ? null : body, this.init!);
    this.response = r;
    const resolve = this.resolveReady;
    this.resolveReady = null;
    resolve?.(r);
  }
}
