/**
 * The Response side of tsgi/bun and tsgi/deno. The core's sink as a Response, `FetchSink`, is
 * shared with the `toFetch` bridge and lives there (src/bridges/to-fetch.ts); `RuntimeSink`
 * puts the common case in front of it: a body the core hands over whole (a sync app's list, one
 * final chunk) becomes one `new Response(body, init)` built here, with the body as the app gave
 * it (a string stays a string: Bun and Deno encode it natively, where `Buffer.from` cost ~1 µs
 * per hello on Bun). Anything else (HEAD, 204, no Content-Length, a second chunk, an abort) is
 * handed to a FetchSink, which streams with backpressure.
 */
import { FetchSink, type FetchSinkOptions } from "../../src/bridges/to-fetch.ts";
import { statusHasNoBody, toBytes, type Header, type ResponseSink } from "../../src/index.ts";

export { FetchSink, isAbort, type FetchSinkOptions } from "../../src/bridges/to-fetch.ts";

/** A 500 Response for a failure outside the app (the core turns app failures into responses itself). */
export function internalError(): Response {
  return new Response("Internal Server Error\n", { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } });
}

/**
 * ResponseInit for a runtime that frames whole bodies itself (Bun.serve, Deno.serve): no
 * Content-Length (index `skip`; the runtime writes it), no status/statusText for 200 OK, and the
 * headers as a record unless a name repeats exactly (two Set-Cookie) or cannot be a record key:
 * Bun and Deno convert a list of pairs through WebIDL sequences, and Deno serves a 200 whose only
 * header is a text/plain or JSON Content-Type on its fast static path.
 */
function wholeInit(status: number, reason: string, headers: Header[], skip: number): ResponseInit {
  const init: ResponseInit = status === 200 && reason === "OK" ? {} : { status, statusText: reason };
  const record: Record<string, string> = {};
  for (let i = 0; i < headers.length; i++) {
    if (i === skip) continue;
    const h = headers[i];
    if (record[h[0]] !== undefined) {
      init.headers = headers.filter((_, j) => j !== skip);
      return init;
    }
    record[h[0]] = h[1];
  }
  init.headers = record;
  return init;
}

/** The Response when the body comes whole; a FetchSink (created on demand) for everything else. */
export class RuntimeSink implements ResponseSink {
  /** The Response carrying the whole body, when it was built here. */
  private whole: Response | null = null;
  private stream: FetchSink | null = null;
  private status = 0;
  private reason = "";
  private headers: Header[] | null = null;
  /** Index of Content-Length in `headers` while the whole body is awaited; -1 otherwise. */
  private lengthAt = -1;
  private gone = false;
  private listeners: (() => void)[] | null = null;

  /** `noBody`: the request was HEAD. `options` are passed to the FetchSink, if one is needed. */
  constructor(private readonly noBody: boolean, private readonly options: FetchSinkOptions) {}

  start(status: number, reason: string, headers: Header[]): void {
    if (this.stream !== null) return this.stream.start(status, reason, headers);
    this.status = status;
    this.reason = reason;
    this.headers = headers;
    // As FetchSink: with a Content-Length (the core adds it for a list body) the first chunk may
    // be the whole body, so nothing is built yet. Without one, the headers go out at once.
    if (!this.noBody && !statusHasNoBody(status)) {
      for (let i = 0; i < headers.length; i++) {
        const name = headers[i][0];
        if (name.length === 14 && name.toLowerCase() === "content-length") {
          if (headers[i][1] === "0") break;
          this.lengthAt = i;
          return;
        }
      }
    }
    this.toStream();
  }

  endWithText(text: string, _byteLength: number): void {
    // The core calls this only with exactly the declared rest of the body.
    if (this.stream !== null || this.gone) return this.toStream().endWith(toBytes(text));
    this.whole = new Response(text, wholeInit(this.status, this.reason, this.headers!, this.lengthAt));
  }

  endWith(chunk: Uint8Array): void {
    if (this.stream !== null || this.gone) return this.toStream().endWith(chunk);
    this.whole = new Response(chunk as Uint8Array<ArrayBuffer>, wholeInit(this.status, this.reason, this.headers!, this.lengthAt));
  }

  write(chunk: Uint8Array): void | Promise<void> {
    return this.toStream().write(chunk);
  }

  end(): void {
    this.toStream().end();
  }

  abort(reason: unknown): void {
    this.toStream().abort(reason);
  }

  get closed(): boolean {
    return this.stream !== null ? this.stream.closed : this.gone;
  }

  onClose(listener: () => void): void {
    if (this.stream !== null) this.stream.onClose(listener);
    else (this.listeners ??= []).push(listener);
  }

  /** The peer went away (request signal aborted, or the runtime cancelled the body stream). */
  disconnect(): void {
    if (this.stream !== null) return this.stream.disconnect();
    if (this.gone || this.whole !== null) return;
    this.gone = true;
    const ls = this.listeners;
    this.listeners = null;
    if (ls) for (const l of ls) l();
  }

  /** True when the Response is built and carries its whole body (no stream left to feed). */
  get complete(): boolean {
    return this.stream !== null ? this.stream.complete : this.whole !== null;
  }

  /** The Response, if it is built already. */
  get response(): Response | null {
    return this.stream !== null ? this.stream.response : this.whole;
  }

  /** The Response, now or once the core has said enough to build it. */
  ready(): Response | Promise<Response> {
    if (this.whole !== null) return this.whole;
    return this.toStream().ready();
  }

  /** Hand the response to a FetchSink (once): it replays what the core said so far. */
  private toStream(): FetchSink {
    if (this.stream !== null) return this.stream;
    const s = new FetchSink(this.noBody, this.options);
    this.stream = s;
    if (this.gone) s.disconnect();
    else if (this.listeners !== null) for (const l of this.listeners) s.onClose(l);
    this.listeners = null;
    if (this.headers !== null) s.start(this.status, this.reason, this.headers);
    return s;
  }
}
