/**
 * The core's ResponseSink as a WHATWG Response, for servers whose handler returns one
 * (Bun.serve, Deno.serve, a Hono handler). A complete body known up front (Content-Length with
 * one chunk, or no body at all) becomes a plain `Response(bytes)`, so a hello world needs no
 * stream; anything else streams through a pull-based ReadableStream, and `write()` waits for
 * the next pull once the stream's queue is full: that is how a slow client slows the app.
 */
import { statusHasNoBody, type Header, type ResponseSink } from "../../src/index.ts";

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
  private controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  private pull: (() => void) | null = null;
  /** An abort that waits for queued chunks to be taken first (else the runtime drops them). */
  private failure: string | null = null;
  private listeners: (() => void)[] | null = null;
  private gone = false;
  private finished = false;

  /** `noBody`: the request was HEAD, so the runtime sends no body whatever the headers say. */
  constructor(private readonly noBody = false) {}

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
        return this.respond(chunk as Uint8Array<ArrayBuffer>);
      }
      this.open();
    }
    const c = this.controller!;
    c.enqueue(chunk);
    if ((c.desiredSize ?? 0) > 0) return;
    return new Promise<void>((resolve) => (this.pull = resolve));
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

/** A 500 Response for a failure outside the app (the core turns app failures into responses itself). */
export function internalError(): Response {
  return new Response("Internal Server Error\n", { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } });
}
