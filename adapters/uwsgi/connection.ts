/**
 * One uwsgi connection = one request (nginx, Apache and uWSGI's router open a connection per
 * request and read the response until we close). The connection walks four phases:
 *
 *   head      read the 4-byte header and the vars block (bounded by `bufferSize`)
 *   body      the app pulls the body, exactly CONTENT_LENGTH bytes; the socket is paused
 *             between pulls, so a slow app slows the sender instead of filling memory
 *   response  the sink writes a raw HTTP/1.x response
 *   drain     our side is shut (FIN ends the response), unread body bytes are read and dropped
 *             until the peer closes: closing with unread bytes would send RST, and nginx then
 *             answers 502 even though our response was complete (protocols.md §5, [lab] 5 of 6)
 *
 * On Node a connection starts on the raw accepted handle (adapters/node/native.ts): a request without a body
 * whose response is written whole by `respond` is read, answered and closed there, usually
 * within the accept callback (the packet is read at once when it is already there). The first
 * use of `socket` (a body to pull, a streamed response, bad input, a timeout) wraps the handle
 * in a net.Socket, and from then on everything goes through it, as on Bun and Deno.
 */
import { Buffer } from "node:buffer";
import { Socket } from "node:net";
import { BodyIncomplete, DONE as SETTLED, type Gateway } from "../../src/index.ts";
import { decodeVars, HEADER_SIZE, MAX_VARS_SIZE, MODIFIER1_HTTP, UwsgiProtocolError } from "./codec.ts";
import type { Native, RawHandle, RawSink } from "../node/native.ts";
import { UwsgiSink, errorResponse } from "./sink.ts";

/** Limits for one connection; see UwsgiOptions in server.ts for the documented defaults. */
export interface ConnectionLimits {
  bufferSize: number;
  readTimeout: number;
  drainLimit: number;
  accessLog?: (line: string) => void;
}

const HEAD = 0, BODY = 1, RESPONSE = 2, DRAIN = 3;
/**
 * Larger response bodies go through a net.Socket: one raw write shows no progress until it
 * completes, and its cost is small next to the bytes anyway.
 */
const RAW_MAX = 1024 * 1024;

const EMPTY = new Uint8Array(0);
/** Where raw connections read their first bytes at accept. */
let FIRST: Buffer | null = null;
/** True while bytes in a shared buffer (FIRST, or the native reads') are processed: copy what is kept. */
let inShared = false;
const DONE: IteratorResult<Uint8Array> = { value: undefined, done: true };

/** `buf[0, len)` to keep for later: a copy when it is a shared buffer, which the next read reuses. */
function keep(buf: Buffer, len: number): Buffer {
  return inShared ? Buffer.from(buf.subarray(0, len)) : len === buf.length ? buf : buf.subarray(0, len);
}

/** The body stopped arriving: the core logs the message and answers 400. */
export class BodyStalled extends BodyIncomplete {
  constructor(expected: number, received: number, timeoutMs: number) {
    super(expected, received);
    this.message = `request body stalled: the uwsgi peer sent ${received} of ${expected} announced bytes, then nothing for ${timeoutMs / 1000} s (readTimeout)`;
    this.name = "BodyStalled";
  }
}

const kConn = Symbol("uwsgi.connection");
type ConnSocket = Socket & { [kConn]: Connection };

// Socket listeners are shared functions (Node calls them with `this` = the socket), so a
// connection costs no closures.
function onData(this: ConnSocket, chunk: Buffer): void { this[kConn].data(chunk); }
function onEnd(this: ConnSocket): void { this[kConn].peerEnd(); }
function onError(this: ConnSocket): void { /* 'close' follows; a reset peer is not worth a log line */ }
function onClose(this: ConnSocket): void { this[kConn].closed(); }
function destroyAfterFinish(this: ConnSocket): void { this.destroy(); }
function rawWritten(this: { owner: unknown }, status: number): void { (this.owner as Connection).rawWritten(status); }

export class Connection implements AsyncIterator<Uint8Array>, AsyncIterable<Uint8Array>, RawSink {
  private phase = HEAD;
  /** Header and vars bytes so far, while they arrive in pieces. */
  private head: Buffer | null = null;
  /** Announced body length, bytes still to come from the socket, bytes handed to the app. */
  private expected = 0;
  private toRead = 0;
  private received = 0;
  /** Body bytes read from the socket but not yet pulled (the socket is paused meanwhile). */
  private queued: Buffer | null = null;
  private waiter: { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (e: unknown) => void } | null = null;
  private peerEnded = false;
  private drained = 0;
  /** CONTENT_LENGTH was valid or absent, so the body's end is known (else drain to EOF). */
  private expectedKnown = false;
  private closeListeners: (() => void)[] | null = null;
  /** The response sink, once the request is parsed. */
  sink: UwsgiSink | null = null;
  /** True once the socket is gone. */
  gone = false;
  /** In the listener's set of open connections (server.ts lists only those still open after start). */
  listed = false;
  /** The accepted handle while no net.Socket wraps it (Node's fast path), else null. */
  private raw: RawHandle | null = null;
  private net: Socket | null = null;
  /** Raw writes libuv still holds; close once they are out if `closeWhenWritten`. */
  private rawPending = 0;
  /** The response is complete but the peer has not taken all of it yet (see `awaitWritten`). */
  private closeWhenWritten = false;
  private unsentAtArm = 0;

  /** `transport`: a net.Socket, or a raw handle with the native operations (adapters/node/native.ts). */
  constructor(transport: Socket | RawHandle, private readonly gateway: Gateway, private readonly limits: ConnectionLimits, private readonly onDone: (c: Connection) => void, private readonly native: Native | null = null) {
    if (transport instanceof Socket) this.attach(transport);
    else this.raw = transport;
  }

  /**
   * Start serving, once the listener has registered the connection (it may end right here).
   * `readNow`: on a raw handle, first try to read what has already arrived; returns true if
   * that found nothing.
   */
  start(readNow: boolean): boolean {
    const h = this.raw;
    if (h === null || !readNow) {
      this.arm();
      if (h !== null) this.native!.read(h, this);
      return false;
    }
    // The front server writes the packet right after connecting, so it is often there at
    // accept: reading it now saves the event loop a round (epoll_ctl, a wakeup, a callback,
    // a 64 KiB read buffer).
    const first = (FIRST ??= Buffer.allocUnsafe(HEADER_SIZE + MAX_VARS_SIZE + 1));
    const n = this.native!.readNow(h, first);
    if (n > 0) this.rawData(first, n); // no view of the first n bytes: a Buffer made per request costs ~0.1 us
    else if (n === 0) this.peerEnd();
    else if (n === -2) {
      this.rawError();
      return false;
    }
    if (this.raw !== null && !this.gone) {
      // Armed only now: a packet read whole at accept (the usual case) never needed the clock.
      if (this.phase === HEAD) this.arm();
      this.native!.read(this.raw, this);
    }
    return n === -1;
  }

  /** The connection's net.Socket; on the raw path the first use wraps the handle in one. */
  get socket(): Socket {
    return this.net ?? this.wrap();
  }

  /** `emitsData`: false for a socket made by native.socket(), which hands its reads over itself. */
  private attach(socket: Socket, emitsData = true): Socket {
    this.net = socket;
    (socket as ConnSocket)[kConn] = this;
    if (emitsData) socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("error", onError);
    socket.on("close", onClose);
    return socket;
  }

  /** Hand the raw handle to a net.Socket, as net.Server does on accept; it reads from now on. */
  private wrap(): Socket {
    if (this.gone) {
      // The raw handle is closed already: a stand-in, so late callers need no special case.
      const s = (this.net = new Socket());
      s.destroy();
      return s;
    }
    const h = this.raw!;
    this.raw = null;
    // createServer's noDelay, for TCP. Not needed before: the raw path writes a response once
    // and closes (the close pushes out anything Nagle held), so it saves the system call.
    if (typeof h.setNoDelay === "function") h.setNoDelay(true);
    return this.attach(this.native!.socket(h, (chunk) => this.data(chunk)), false);
  }

  // ---- the raw handle's events (adapters/node/native.ts)

  rawData(buf: Buffer, len: number): void {
    inShared = true;
    try {
      this.data(buf, len);
    } finally {
      inShared = false;
    }
  }
  rawEnd(): void {
    this.peerEnd();
  }
  rawError(): void {
    this.rawClose(); // a reset peer: as onError, not worth a log line
  }
  rawWritten(status: number): void {
    this.rawPending--;
    if (this.raw === null) return; // wrapped meanwhile: the socket owns the handle now
    if (status < 0) return this.rawClose();
    if (this.rawPending === 0 && this.closeWhenWritten) this.rawClose();
  }
  private rawClose(): void {
    if (this.gone || this.raw === null) return;
    this.raw.close(); // stops reading too; no callback: nothing waits for the close to complete
    this.closed();
  }

  /**
   * The response's last bytes: `head` (status line and headers, a byte string) if not sent yet,
   * then `body`. On the raw handle they leave in one write without a net.Socket.
   */
  respond(head: string | null, body: Uint8Array | null): void {
    if (this.gone) return;
    const h = this.raw;
    if (h === null || head === null || (body !== null && body.length > RAW_MAX)) {
      const socket = this.socket;
      if (body === null || body.length === 0) {
        if (head !== null) socket.write(head, "latin1");
      } else if (head === null) socket.write(body);
      else {
        socket.cork(); // one writev
        socket.write(head, "latin1");
        socket.write(body);
        socket.uncork();
      }
      return;
    }
    const r = this.native!.write(h, head, body !== null && body.length > 0 ? body : null, rawWritten, this);
    if (r === 1) this.rawPending++;
    else if (r < 0) this.rawClose(); // EPIPE and the like: the peer is gone
  }

  /**
   * Read-timeout bookkeeping without a timer per connection: `deadline` is checked by the
   * listener's sweeper (server.ts), so arming is one assignment on the hot path.
   */
  deadline = 0;
  private arm(): void {
    if (this.limits.readTimeout > 0) this.deadline = Date.now() + this.limits.readTimeout;
  }
  private disarm(): void {
    this.deadline = 0;
  }

  /** `chunk[0, len)` arrived (a shared buffer's bytes while `inShared`). */
  data(chunk: Buffer, len = chunk.length): void {
    if (this.deadline !== 0) this.arm(); // progress: the timeout counts silence, not total time
    if (this.phase === HEAD) this.headData(chunk, len);
    else if (this.phase === BODY) this.bodyData(keep(chunk, len));
    else if (this.phase === DRAIN) {
      this.drained += len;
      if (this.drained > this.limits.drainLimit) this.socket.destroy();
    }
    // RESPONSE: the body is complete (or not wanted yet); nothing else is expected.
  }

  /** `chunk[0, len)` arrived while the packet is incomplete. */
  private headData(chunk: Buffer, len: number): void {
    let buf = chunk;
    if (this.head !== null) {
      buf = Buffer.concat([this.head, chunk.subarray(0, len)]);
      len = buf.length;
    }
    if (buf[0] !== MODIFIER1_HTTP) {
      return this.reject(501, "Not Implemented", `uwsgi modifier1 ${buf[0]} is not supported: tsgi serves HTTP requests (modifier1 0, what nginx uwsgi_pass and Apache mod_proxy_uwsgi send)`);
    }
    if (len < HEADER_SIZE) {
      this.head = keep(buf, len);
      return;
    }
    const size = buf[1] | (buf[2] << 8);
    if (size > this.limits.bufferSize) {
      return this.reject(431, "Request Header Fields Too Large", `uwsgi vars block of ${size} bytes exceeds the limit of ${this.limits.bufferSize} bytes (raise bufferSize, at most 65535)`);
    }
    const end = HEADER_SIZE + size;
    if (len < end) {
      this.head = keep(buf, len);
      return;
    }
    this.head = null;
    let params;
    try {
      params = decodeVars(buf, HEADER_SIZE, end);
    } catch (err) {
      if (!(err instanceof UwsgiProtocolError)) throw err;
      return this.reject(400, "Bad Request", `malformed uwsgi vars block: ${err.message}`);
    }
    this.startRequest(params, len > end ? buf.subarray(end, len) : null);
  }

  private startRequest(params: Record<string, string>, rest: Buffer | null): void {
    this.disarm();
    // The body is exactly CONTENT_LENGTH bytes (empty or absent: none). A malformed value is
    // answered 400 by the core; then we read no body and drain whatever follows.
    const cl = params.CONTENT_LENGTH || params.HTTP_CONTENT_LENGTH || "";
    let n = cl.length > 0 && cl.length < 16 ? 0 : -1;
    for (let i = 0; i < cl.length && n >= 0; i++) {
      const d = cl.charCodeAt(i) - 48;
      n = d >= 0 && d <= 9 ? n * 10 + d : -1;
    }
    this.expected = this.toRead = n > 0 ? n : 0;
    this.expectedKnown = n >= 0 || cl.length === 0;
    if (rest !== null && this.toRead > 0) {
      const q = rest.length > this.toRead ? rest.subarray(0, this.toRead) : rest;
      this.queued = keep(q, q.length);
      this.toRead -= this.queued.length;
    }
    this.phase = BODY;
    // Paused until the app pulls (backpressure); with no body nothing more is read anyway.
    if (this.expected > 0) this.socket.pause();
    const proto = params.SERVER_PROTOCOL === "HTTP/1.0" ? "HTTP/1.0" : "HTTP/1.1";
    const sink = (this.sink = new UwsgiSink(this, proto, this.limits.accessLog === undefined ? null : { log: this.limits.accessLog, params, t0: performance.now() }));
    const done = this.gateway.handleParams(params, this.expected > 0 ? this : null, sink);
    // SETTLED: the request finished synchronously (the hot path); nothing to wait for.
    if (done !== SETTLED) done.then(undefined, (err) => this.internalError(sink, err));
  }

  private internalError(sink: UwsgiSink, err: unknown): void {
    this.gateway.log(`uwsgi: internal error: ${err instanceof Error ? err.stack : String(err)}`);
    sink.abort(err);
  }

  private bodyData(chunk: Buffer): void {
    if (this.toRead === 0) return; // bytes past CONTENT_LENGTH: not ours to interpret
    if (chunk.length > this.toRead) chunk = chunk.subarray(0, this.toRead);
    this.toRead -= chunk.length;
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      this.disarm();
      this.socket.pause();
      this.received += chunk.length;
      w.resolve({ value: chunk, done: false });
    } else {
      this.queued = this.queued === null ? chunk : Buffer.concat([this.queued, chunk]);
      this.socket.pause();
    }
  }

  // ---- the request body, as the core pulls it

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this;
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    const q = this.queued;
    if (q !== null) {
      this.queued = null;
      this.received += q.length;
      return Promise.resolve({ value: q, done: false });
    }
    if (this.toRead === 0 || this.phase !== BODY || this.peerEnded || this.gone) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.arm();
      this.socket.resume();
    });
  }

  return(): Promise<IteratorResult<Uint8Array>> {
    return Promise.resolve(DONE);
  }

  // ---- ending

  /** The response is complete: FIN ends it for the peer; drain what it still sends. */
  finish(): void {
    if (this.phase === DRAIN) return;
    this.phase = DRAIN;
    this.queued = null;
    this.wakeWaiter();
    if (this.gone) return;
    const whole = this.peerEnded || (this.toRead === 0 && this.expectedKnown);
    if (whole && this.raw !== null) {
      // Nothing unread (no FIN or reset to fear): close now, or once libuv has written the rest.
      if (this.rawPending === 0) return this.rawClose();
      return this.awaitWritten();
    }
    if (whole && this.socket.writableLength === 0) {
      // The whole request was read and our bytes are with the kernel (the usual case: a small
      // response is written at once): close outright, as uWSGI does. Nothing is unread, so the
      // close sends FIN, not a reset; no half-close, no wait for the write to finish or for the
      // peer's FIN (measured: about a tenth of the node CPU of a connection per request).
      this.socket.destroy();
      return;
    }
    this.socket.end();
    // Both sides done: the socket closes itself once our bytes are out.
    if (this.peerEnded) return this.awaitWritten();
    if (whole) {
      // Nothing is left to drain: close once our bytes are out instead of waiting for the FIN.
      this.socket.once("finish", destroyAfterFinish);
      return this.awaitWritten();
    }
    this.arm();
    this.socket.resume();
  }

  /**
   * The response cannot be completed. A FIN would make a response without Content-Length look
   * complete, so we reset (nginx: "readv() failed (104)", the client's response is cut). The
   * bytes already written go first: a reset with writes still queued would drop them.
   */
  abortResponse(): void {
    this.phase = DRAIN;
    this.wakeWaiter();
    if (this.gone) return;
    const s = this.socket as Socket & { resetAndDestroy?: () => void };
    const reset = () => {
      // Unix sockets have no reset (Node throws ERR_INVALID_HANDLE_TYPE): a plain close there,
      // which nginx sees as premature only when the response declared a Content-Length.
      try {
        if (typeof s.resetAndDestroy === "function") return void s.resetAndDestroy();
      } catch { /* not TCP */ }
      s.destroy();
    };
    if (s.writableLength === 0) reset();
    else s.write(EMPTY, reset);
  }

  /** Answer a request we could not parse, with one log line, then close cleanly. */
  private reject(status: number, reason: string, message: string): void {
    this.gateway.log(`uwsgi ${this.peer()}: ${message}; answered ${status}`);
    this.head = null;
    this.phase = RESPONSE;
    if (!this.gone) this.socket.write(errorResponse(status, reason, message + "\n"));
    this.finish();
  }

  peerEnd(): void {
    if (this.peerEnded) return; // a wrapped handle can report the FIN a second time
    this.peerEnded = true;
    if (this.phase === HEAD) {
      const got = this.head === null ? 0 : this.head.length;
      if (got === 0) {
        // A connect-and-close (health checks, port probes): nothing to answer, nothing to log.
        this.phase = DRAIN;
        if (this.raw !== null) this.rawClose();
        else this.socket.end();
        return;
      }
      const want = got < HEADER_SIZE ? "the 4-byte packet header" : `the ${(this.head![1] | (this.head![2] << 8)) + HEADER_SIZE}-byte packet`;
      return this.reject(400, "Bad Request", `truncated uwsgi packet: the peer closed after ${got} bytes of ${want}`);
    }
    this.wakeWaiter();
  }

  /**
   * The response is complete on our side, and the close waits for the peer to take the rest:
   * a peer that takes none of it for readTimeout is closed with a log line (timeout()).
   */
  private awaitWritten(): void {
    this.closeWhenWritten = true;
    this.unsentAtArm = this.unsent();
    this.arm();
  }

  /** A measure of response bytes not yet taken by the peer; it falls as the peer reads. */
  private unsent(): number {
    // writeQueueSize: what libuv still holds of a write (the net.Socket's handle on Node too;
    // where it is missing, writableLength falls only as whole writes complete).
    const h = (this.raw ?? (this.net as unknown as { _handle?: { writeQueueSize?: unknown } | null })._handle) as { writeQueueSize?: unknown } | null | undefined;
    const q = h != null && typeof h.writeQueueSize === "number" ? h.writeQueueSize : 0;
    return this.raw !== null ? q : this.net!.writableLength + q;
  }

  /** Called by the sweeper once `deadline` has passed. */
  timeout(): void {
    this.disarm();
    const secs = this.limits.readTimeout / 1000;
    if (this.closeWhenWritten) {
      const left = this.unsent();
      if (left < this.unsentAtArm) {
        // A slow reader, not a stalled one: the timeout counts silence, as for the request.
        this.unsentAtArm = left;
        return this.arm();
      }
    }
    if (this.phase === HEAD) {
      const got = this.head === null ? 0 : this.head.length;
      return this.reject(408, "Request Timeout", `no complete uwsgi packet after ${secs} s (got ${got} bytes; readTimeout)`);
    }
    if (this.phase === BODY && this.waiter !== null) {
      const w = this.waiter;
      this.waiter = null;
      this.disarm();
      this.socket.pause();
      w.reject(new BodyStalled(this.expected, this.received, this.limits.readTimeout));
      return;
    }
    if (this.phase === RESPONSE || this.phase === BODY || this.closeWhenWritten) {
      this.gateway.log(`uwsgi ${this.peer()}: the peer took no response bytes for ${secs} s (readTimeout); connection closed`);
    }
    if (this.raw !== null) this.rawClose();
    else this.socket.destroy();
  }

  closed(): void {
    this.gone = true;
    this.wakeWaiter();
    const ls = this.closeListeners;
    this.closeListeners = null;
    if (ls !== null && this.phase !== DRAIN) for (const l of ls) l();
    this.onDone(this);
  }

  onClose(listener: () => void): void {
    (this.closeListeners ??= []).push(listener);
  }

  /** Wait (with the read timeout armed) until the socket accepts more response bytes. */
  waitWritable(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        if (this.waiter === null) this.disarm();
        resolve();
      };
      this.socket.on("drain", done);
      this.socket.on("close", done);
      this.arm();
    });
  }

  private wakeWaiter(): void {
    const w = this.waiter;
    if (w === null) return;
    this.waiter = null;
    w.resolve(DONE);
  }

  private peer(): string {
    const a = this.socket.remoteAddress;
    return a === undefined ? "(unix socket)" : `${a.includes(":") ? `[${a}]` : a}:${this.socket.remotePort}`;
  }
}
