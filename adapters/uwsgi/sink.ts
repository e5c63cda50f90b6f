/**
 * The response side of uwsgi: a raw HTTP/1.x response, not a uwsgi packet ("an HTTP response is
 * a valid uwsgi packet", modifier1 72). Three rules come from the front servers:
 *
 * - a real status line (`HTTP/1.1 200 OK`): Apache's mod_proxy_uwsgi answers 502 to anything
 *   else, and uWSGI's HTTP router relays our bytes verbatim to the client;
 * - never `Transfer-Encoding: chunked`: nginx and Apache chunk the body again, so clients would
 *   see the chunk markers as data. Bytes go out as the app writes them;
 * - the close ends the response (one request per connection), which is how a response without
 *   Content-Length is delimited.
 */
import { Buffer } from "node:buffer";
import { responseHead, type Header, type ResponseSink } from "../../src/index.ts";
import type { Connection } from "./connection.ts";

/** Bodies up to this size go out with the head as one latin1 string: one write() system call. */
const SMALL_BODY = 1024;

export class UwsgiSink implements ResponseSink {
  private finished = false;
  /** The status line and headers, until the first body bytes (or the end) take them along. */
  private head: string | null = null;

  private status = 0;
  private bytes = 0;

  /** `version` is the status line's HTTP version: the request's, HTTP/1.0 or HTTP/1.1. */
  constructor(private readonly conn: Connection, private readonly version: string, private readonly access: AccessContext | null = null) {}

  get closed(): boolean {
    return !this.finished && this.conn.gone;
  }

  onClose(listener: () => void): void {
    this.conn.onClose(listener);
  }

  start(status: number, reason: string, headers: Header[]): void {
    // Header names and values are byte strings the core validated (no CR, LF, NUL, nothing
    // above U+00FF), so latin1 writes them byte for byte. Held until body bytes or the end
    // come, so that a response is one socket write.
    this.status = status;
    this.head = responseHead(this.version === "HTTP/1.0" ? "HTTP/1.0 " : "HTTP/1.1 ", status, reason, headers);
  }

  write(chunk: Uint8Array): void | Promise<void> {
    if (this.conn.gone) return;
    this.bytes += chunk.length;
    if (!this.send(chunk)) return this.conn.waitWritable();
  }

  /** The whole body in one call (the core's one-step end): head and body leave in one write. */
  endWith(chunk: Uint8Array): void {
    if (this.finished) return;
    this.bytes += chunk.length;
    const head = this.head;
    this.head = null;
    // node writes a string with one write(); a small body rides along in it.
    if (head !== null && chunk.length <= SMALL_BODY) this.conn.respond(head + latin1(chunk), null);
    else this.conn.respond(head, chunk);
    this.done();
  }

  /**
   * A body the app gave as one string (the core's one-step end). Pure ASCII, which UTF-8 and
   * latin1 write alike (its UTF-8 length is its length), joins the head's string as it is: no
   * encoding to bytes and decoding back, one write. Anything else goes through endWith.
   */
  endWithText(text: string, byteLength: number): void {
    if (this.finished) return;
    const head = this.head;
    if (head === null || byteLength !== text.length || byteLength > SMALL_BODY) return this.endWith(Buffer.from(text, "utf8"));
    this.bytes += byteLength;
    this.head = null;
    this.conn.respond(wholeText(head, text), null);
    this.done();
  }

  end(): void {
    if (this.finished) return;
    const head = this.head;
    this.head = null;
    if (head !== null) this.conn.respond(head, null);
    this.done();
  }

  private done(): void {
    this.finished = true;
    if (this.access !== null) this.logAccess();
    this.conn.finish();
  }

  abort(_reason: unknown): void {
    if (this.finished) return;
    this.finished = true;
    if (this.access !== null) this.logAccess();
    // What the app produced goes first (a head the core held back, e.g. when the app sent less
    // than its Content-Length), so the client sees that response cut, not a gateway error.
    const head = this.head;
    if (head !== null) {
      this.head = null;
      if (!this.conn.gone) this.conn.socket.write(head, "latin1");
    }
    this.conn.abortResponse();
  }

  /** Body bytes, preceded by the head if it is still held; returns the socket's "keep writing". */
  private send(chunk: Uint8Array): boolean {
    const socket = this.conn.socket;
    const head = this.head;
    if (head === null) return socket.write(chunk);
    this.head = null;
    // node writes a string with one write(); a Buffer after a string becomes a writev of two.
    if (chunk.length <= SMALL_BODY) return socket.write(head + latin1(chunk), "latin1");
    socket.cork();
    socket.write(head, "latin1");
    const ok = socket.write(chunk);
    socket.uncork();
    return ok;
  }

  private logAccess(): void {
    const { log, params: p, t0 } = this.access!;
    const ms = (performance.now() - t0).toFixed(1);
    log(`${p.REMOTE_ADDR || "-"} - - [${new Date().toISOString()}] "${p.REQUEST_METHOD} ${p.REQUEST_URI ?? p.PATH_INFO} ${p.SERVER_PROTOCOL}" ${this.status || "-"} ${this.bytes} ${ms}ms`);
  }
}

// The same head and the same short text as the response before (a health check, a fixed
// page): the same string, already flat, so it is written without being joined and copied again.
let lastWholeHead = "", lastWholeText = "", lastWhole = "";

function wholeText(head: string, text: string): string {
  if (head === lastWholeHead && text === lastWholeText) return lastWhole;
  lastWholeHead = head;
  lastWholeText = text;
  lastWhole = head + text;
  return lastWhole;
}

/** What an access-log line needs from the request. */
export interface AccessContext {
  log: (line: string) => void;
  params: Record<string, string>;
  t0: number;
}

/** Bytes as a byte string (latin1 maps each byte to one char). */
function latin1(chunk: Uint8Array): string {
  const b = chunk as Uint8Array & { latin1Slice?: (s: number, e: number) => string };
  if (typeof b.latin1Slice === "function") return b.latin1Slice(0, chunk.length);
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).toString("latin1");
}

/** A complete plain-text HTTP response for requests the listener itself refuses. */
export function errorResponse(status: number, reason: string, text: string): Buffer {
  const body = Buffer.from(text, "utf8");
  return Buffer.concat([
    Buffer.from(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n`, "latin1"),
    body,
  ]);
}
