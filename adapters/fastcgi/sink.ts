/**
 * The core's ResponseSink for one FastCGI request: a CGI response (RFC 3875 §6: `Status:` line,
 * headers, blank line, body) on STDOUT records, `tsgi.errors` on STDERR records, then the empty
 * STDOUT record and END_REQUEST. FastCGI frames the body, so no Transfer-Encoding ever goes out
 * (nginx 1.22 hangs on a chunked STDOUT: protocols.md §1.11).
 *
 * Small writes made in one turn of the event loop are coalesced: a typical response (head, one
 * chunk, end) is one socket write holding STDOUT, the empty STDOUT and END_REQUEST.
 */
import { responseHead, type ErrorStream, type Header, type ResponseSink } from "../../src/index.ts";
import { Buffer } from "node:buffer";
import { setImmediate } from "node:timers";
import { HEADER_LEN, MAX_CONTENT, paddingFor, REQUEST_COMPLETE, STDERR, STDOUT, streamSize, writeEndRequest, writeHeader, writeStream } from "./codec.ts";

/** The connection as a sink sees it. */
export interface Wire {
  /** Queue bytes on the socket; false once its buffer is over the high-water mark. */
  write(bytes: Uint8Array): boolean;
  /** Resolves when the socket buffer drained or the socket closed. */
  drained(): Promise<void>;
}

/** What the sink reports back to its request. */
export interface SinkOwner {
  /** END_REQUEST went out (or could not: the peer is gone). */
  ended(sink: FastCgiSink): void;
  /** The response cannot be completed: the connection must be cut. */
  aborted(sink: FastCgiSink, reason: unknown): void;
}

/** Flush at once when this many body bytes are pending, rather than at the end of the tick. */
const FLUSH_AT = 32 * 1024;
const encoder = new TextEncoder();

/**
 * Sinks with output waiting; one setImmediate flushes them all once this turn of the event loop
 * is over. Not a microtask: the core reaches end() a few promise hops after the body's write()
 * (an awaited async helper), and a microtask flush would send the body and then, separately, the
 * end records: two write system calls per response instead of one.
 */
let due: FastCgiSink[] = [];
function flushDue(): void {
  const list = due;
  due = [];
  for (let i = 0; i < list.length; i++) list[i].flushLater();
}

export class FastCgiSink implements ResponseSink {
  /** END_REQUEST was sent or the request was abandoned; nothing more goes out for this id. */
  finished = false;
  /** Bytes of STDOUT sent (head and body). */
  sentBytes = 0;
  private gone = false;
  private errorStream: ErrorStream | null = null;
  private listeners: (() => void)[] | null = null;
  /** The response head (a byte string), until it goes out ahead of `pending`. */
  private head: string | null = null;
  private pending: Uint8Array[] = [];
  /** Bytes of head and pending. */
  private pendingBytes = 0;
  private scheduled = false;

  constructor(readonly id: number, private readonly wire: Wire, private readonly owner: SinkOwner) {}

  get closed(): boolean {
    return this.gone;
  }

  /** `tsgi.errors` for this request: STDERR records (nginx logs them as "FastCGI sent in stderr"). */
  get errors(): ErrorStream {
    return (this.errorStream ??= { write: (text: string) => this.stderr(text) });
  }

  onClose(listener: () => void): void {
    (this.listeners ??= []).push(listener);
  }

  /** The peer went away (connection closed or ABORT_REQUEST): tell the app, stop writing. */
  peerGone(): void {
    if (this.gone || this.finished) return;
    this.gone = true;
    this.head = null;
    this.pending = [];
    this.pendingBytes = 0;
    const ls = this.listeners;
    this.listeners = null;
    if (ls) for (const l of ls) l();
  }

  start(status: number, reason: string, headers: Header[]): void {
    if (this.gone) return;
    const head = responseHead("Status: ", status, reason, headers);
    // Header values are byte strings (one char per byte): flush() writes them byte for byte.
    this.head = head;
    this.pendingBytes += head.length;
    this.schedule();
  }

  /** @internal the end of the event-loop turn in which output was queued. */
  flushLater(): void {
    this.scheduled = false;
    if (!this.finished && this.pendingBytes > 0) this.flush(false);
  }

  write(chunk: Uint8Array): void | Promise<void> {
    if (this.gone || this.finished || chunk.length === 0) return;
    this.queue(chunk);
    if (this.pendingBytes >= FLUSH_AT) {
      if (!this.flush(false)) return this.wire.drained();
    }
  }

  end(): void {
    if (this.finished) return;
    if (this.gone) {
      this.finished = true;
      this.owner.ended(this);
      return;
    }
    this.flush(true);
  }

  abort(reason: unknown): void {
    if (this.finished) return;
    // What the app produced before it failed goes out first (a 200 and part of the body), so
    // the client sees that response cut, not a gateway error standing in for it.
    if (!this.gone && this.pendingBytes > 0) this.flush(false);
    this.finished = true;
    this.head = null;
    this.pending = [];
    this.pendingBytes = 0;
    this.owner.aborted(this, reason);
  }

  /** STDERR text: sent at once (it may interleave with STDOUT, spec appendix B example 3). */
  stderr(text: string): void {
    const data = encoder.encode(text);
    if (data.length === 0) return;
    if (this.finished || this.gone) {
      process.stderr.write(data);
      return;
    }
    if (this.pendingBytes > 0) this.flush(false);
    const out = new Uint8Array(streamSize(data.length));
    writeStream(out, 0, STDERR, this.id, data);
    this.wire.write(out);
  }

  private queue(bytes: Uint8Array): void {
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (due.push(this) === 1) setImmediate(flushDue);
  }

  /**
   * Send what is pending as STDOUT records (content of several writes packed into records of up
   * to MAX_CONTENT bytes), plus, when `last`, the empty STDOUT record and END_REQUEST.
   * Returns the socket's "keep writing" answer.
   */
  private flush(last: boolean): boolean {
    const n = this.pendingBytes;
    const size = streamSize(n) + (last ? HEADER_LEN + HEADER_LEN + 8 : 0);
    const out = Buffer.allocUnsafe(size);
    let off = 0;
    let head = this.head;
    let headOff = 0;
    let piece = 0;
    let pieceOff = 0;
    const pieces = this.pending;
    for (let left = n; left > 0;) {
      const len = left < MAX_CONTENT ? left : MAX_CONTENT;
      const pad = paddingFor(len);
      off = writeHeader(out, off, STDOUT, this.id, len, pad);
      let need = len;
      if (head !== null) {
        const take = Math.min(need, head.length - headOff);
        for (let i = 0; i < take; i++) out[off + i] = head.charCodeAt(headOff + i);
        off += take;
        need -= take;
        headOff += take;
        if (headOff === head.length) head = null;
      }
      while (need > 0) {
        const p = pieces[piece];
        const take = Math.min(need, p.length - pieceOff);
        out.set(take === p.length ? p : p.subarray(pieceOff, pieceOff + take), off);
        off += take;
        need -= take;
        pieceOff += take;
        if (pieceOff === p.length) {
          piece++;
          pieceOff = 0;
        }
      }
      for (let i = 0; i < pad; i++) out[off++] = 0;
      left -= len;
    }
    this.sentBytes += n;
    this.head = null;
    if (pieces.length > 0) this.pending = [];
    this.pendingBytes = 0;
    if (last) {
      off = writeHeader(out, off, STDOUT, this.id, 0, 0);
      writeEndRequest(out, off, this.id, 0, REQUEST_COMPLETE);
      this.finished = true;
    }
    const more = this.wire.write(out);
    if (last) this.owner.ended(this);
    return more;
  }
}
