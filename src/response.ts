/**
 * The response side of the core: one writer per request that every app kind goes through, so
 * the framing rules (Content-Length honoured both ways, no body for HEAD/204/304) live once.
 */
import { SpecError, statusHasNoBody } from "./headers.ts";
import type { ResponseSink } from "./request.ts";
import type { Chunk, Header } from "./spec.ts";

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
// Buffer (Node, Bun, Deno 2) carves short strings out of a shared pool; TextEncoder.encode
// allocates a fresh ArrayBuffer per call, which cost ~0.3 µs per response on Node 20 (a fifth
// of the core's time for a hello-world body; measured with bench/suites/http.sh). A Buffer is
// a Uint8Array, so callers see no difference.
const NodeBuffer = (globalThis as { Buffer?: { from(s: string, enc: "utf8"): Uint8Array } }).Buffer;
const encodeUtf8: (s: string) => Uint8Array = NodeBuffer ? (s) => NodeBuffer.from(s, "utf8") : (s) => encoder.encode(s);

const NodeByteLength = (globalThis as { Buffer?: { byteLength(s: string, enc: "utf8"): number } }).Buffer;

/** The length of `s` encoded as UTF-8, counted (a lone surrogate encodes as U+FFFD, 3 bytes, as TextEncoder does). */
export function countUtf8(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * The length of `s` encoded as UTF-8: Buffer.byteLength where there is one (native), else
 * counted. Short strings are counted anyway: that is quicker than the call into C++.
 */
export const utf8Length: (s: string) => number = NodeByteLength ? (s) => (s.length <= 64 ? countUtf8(s) : NodeByteLength.byteLength(s, "utf8")) : countUtf8;

/** A chunk as bytes; strings are UTF-8. Anything else is an app bug worth naming. */
export function toBytes(chunk: Chunk): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === "string") return chunk.length === 0 ? EMPTY : encodeUtf8(chunk);
  throw new SpecError("chunk-type", `body chunks must be Uint8Array or string, got ${describe(chunk)}`);
}

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return typeof value;
}

/**
 * The settled promise the core returns when a request completed without waiting on anything
 * (the sync hot path). Adapters may compare against it to skip attaching handlers.
 */
export const DONE: Promise<void> = Promise.resolve();

// An app sends the same Content-Length name, and often the same value, on every response: the
// last ones seen are kept, which spares a lower-casing, a trim and a regular expression.
let clName = "content-length", clText = "0", clValue = 0;

/** A Content-Length header's value as a number; throws SpecError when it is not one. */
function contentLength(text: string): number {
  if (text === clText) return clValue;
  const v = text.trim();
  if (!/^\d{1,15}$/.test(v)) throw new SpecError("content-length", `Content-Length ${JSON.stringify(v)} is not a non-negative integer`);
  clValue = Number(v);
  clText = text;
  return clValue;
}

/** Log sink for one-line diagnostics. */
export type Log = (line: string) => void;

export class ResponseWriter {
  /** Headers went out: the status can no longer change. */
  sent = false;
  /** `end` or `abort` happened. */
  done = false;
  private declared = -1;
  private written = 0;
  private suppress = false;
  private overrunLogged = false;

  constructor(
    readonly sink: ResponseSink,
    private readonly isHead: boolean,
    private readonly log: Log,
    private readonly label: string,
  ) {}

  /**
   * Send status and headers. `knownLength` is the whole body's length when the caller has it
   * all (an array body, a single final chunk): then Content-Length is added if the app gave none.
   */
  start(status: number, reason: string, headers: Header[], knownLength?: number): void {
    for (let i = 0; i < headers.length; i++) {
      const name = headers[i][0];
      if (name.length === 14 && (name === clName || name.toLowerCase() === "content-length")) {
        clName = name;
        const n = contentLength(headers[i][1]);
        if (this.declared >= 0 && this.declared !== n) {
          throw new SpecError("content-length", `Content-Length given twice with different values (${this.declared} and ${n})`);
        }
        this.declared = n;
      }
    }
    const noBody = statusHasNoBody(status);
    this.suppress = this.isHead || noBody;
    // content-length-auto, but never for HEAD (head-no-body) nor 1xx/204/304 (no-body-status).
    if (this.declared < 0 && knownLength !== undefined && !this.suppress) {
      const all: Header[] = new Array(headers.length + 1);
      for (let i = 0; i < headers.length; i++) all[i] = headers[i];
      all[headers.length] = ["content-length", "" + knownLength];
      headers = all;
    }
    this.sent = true;
    this.sink.start(status, reason, headers);
  }

  write(bytes: Uint8Array): void | Promise<void> {
    // After end/abort (a stored write() called late) nothing may reach the sink.
    if (this.suppress || bytes.length === 0 || this.done) return;
    if (this.declared >= 0) {
      const room = this.declared - this.written;
      if (bytes.length > room) {
        // Sending past Content-Length would corrupt the next response on a kept-alive connection.
        if (!this.overrunLogged) this.log(`${this.label}: app sent more than its Content-Length of ${this.declared}; extra bytes dropped`);
        this.overrunLogged = true;
        if (room <= 0) return;
        bytes = bytes.subarray(0, room);
      }
    }
    this.written += bytes.length;
    return this.sink.write(bytes);
  }

  /**
   * Write `bytes` as the whole rest of the body and end. Uses the sink's one-step `endWith` when
   * it has one and nothing needs checking; otherwise it is `write` then `end`. Any backpressure
   * promise is dropped: the bytes are queued and nothing more is produced.
   */
  endWith(bytes: Uint8Array): void {
    const sink = this.sink;
    if (sink.endWith !== undefined && !this.done && !this.suppress && bytes.length > 0 && !sink.closed &&
        (this.declared < 0 || this.declared - this.written === bytes.length)) {
      this.done = true;
      this.written += bytes.length;
      sink.endWith(bytes);
      return;
    }
    void this.write(bytes);
    this.end();
  }

  /**
   * `endWith` for a body given as one string of `byteLength` UTF-8 bytes: the sink's
   * `endWithText` when it has one and nothing needs checking, else the bytes through `endWith`.
   */
  endWithText(text: string, byteLength: number): void {
    const sink = this.sink;
    if (sink.endWithText !== undefined && !this.done && !this.suppress && byteLength > 0 && !sink.closed &&
        (this.declared < 0 || this.declared - this.written === byteLength)) {
      this.done = true;
      this.written += byteLength;
      sink.endWithText(text, byteLength);
      return;
    }
    this.endWith(toBytes(text));
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    if (this.sink.closed) {
      // The peer left mid-response: the sink still gets its one final call, but not `end`.
      this.sink.abort(new ClientDisconnected());
      return;
    }
    if (!this.suppress && this.declared >= 0 && this.written < this.declared) {
      this.log(`${this.label}: app sent ${this.written} of its declared Content-Length ${this.declared}; connection closed`);
      this.sink.abort(new Error("response shorter than its Content-Length"));
      return;
    }
    this.sink.end();
  }

  abort(reason: unknown): void {
    if (this.done) return;
    this.done = true;
    this.sink.abort(reason);
  }

  /** Answer with a plain-text error when nothing went out yet; abort otherwise. */
  fail(status: number, reason: string, message: string): void {
    if (this.sent) return this.abort(new Error(message));
    sendText(this.sink, status, reason, message, this.isHead);
    this.done = true;
  }
}

/**
 * A complete short text response, for errors the server itself answers. A response to HEAD
 * keeps the headers a GET would get and carries no body (SPEC §9.5).
 */
export function sendText(sink: ResponseSink, status: number, reason: string, text: string, head = false): void {
  const body = encoder.encode(text);
  sink.start(status, reason, [
    ["content-type", "text/plain; charset=utf-8"],
    ["content-length", String(body.length)],
  ]);
  if (body.length && !head) void sink.write(body);
  sink.end();
}

/** Thrown into an async app's `send` after the client went away; the server swallows it. */
export class ClientDisconnected extends Error {
  constructor() {
    super("client disconnected");
    this.name = "ClientDisconnected";
  }
}
