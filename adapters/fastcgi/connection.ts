/**
 * One connection from a web server: records in, requests dispatched by id (several at once when
 * the peer multiplexes, as HAProxy does), management records answered, bad input ended with one
 * log line. The rules and what each front server does are in protocols.md §1, §2 and §5.
 *
 * On Node a connection starts on the raw accepted handle (adapters/node/native.ts), as
 * uwsgi's do: nginx's default is a connection per request, and a
 * net.Socket per connection cost more CPU than the rest of the request. The records are read
 * and the response written on the handle itself; the first use of `socket` (a request body to
 * pause for, output to wait on, a half-close) wraps the handle in a net.Socket for good.
 */
import { Buffer } from "node:buffer";
import { Socket } from "node:net";
import { kSink, type Native, type RawHandle, type RawSink } from "../node/native.ts";
import { sendText } from "../../src/index.ts";
import type { Flow } from "./body.ts";
import {
  ABORT_REQUEST, AUTHORIZER, BEGIN_REQUEST, CANT_MPX_CONN, DATA, decodePairs, encodePairs, endRequestRecord, GET_VALUES,
  GET_VALUES_RESULT, KEEP_CONN, OVERLOADED, PairsError, PARAMS, record, REQUEST_COMPLETE, RESPONDER, STDIN, UNKNOWN_ROLE,
  unknownTypeRecord, VERSION,
} from "./codec.ts";
import { Exchange, type Context } from "./exchange.ts";
import { RecordReader, type RecordHandler } from "./reader.ts";
import type { FastCgiSink, SinkOwner, Wire } from "./sink.ts";

/** What to do with the current record's content. */
const SKIP = 0, COLLECT = 1, TO_PARAMS = 2, TO_STDIN = 3, TO_BEGIN = 4;

/** An invalid record header (version 0), sent to make an aborted response fail visibly. */
const BROKEN = new Uint8Array(8);

const CONN = Symbol("tsgi.fastcgi.connection");
type OwnedSocket = Socket & { [CONN]: Connection };
function onSocketData(this: OwnedSocket, chunk: Uint8Array): void {
  this[CONN].onData(chunk);
}
function onSocketEnd(this: OwnedSocket): void {
  this[CONN].onEnd();
}
function onSocketError(this: OwnedSocket): void {
  this[CONN].kill();
}
function onSocketClose(this: OwnedSocket): void {
  this[CONN].closed();
}

/** How long a connection we are closing may take to send us its EOF (we keep draining meanwhile). */
const LINGER_MS = 5000;

/** The first read at accept goes here, then is copied: records may keep what they were given. */
let FIRST: Buffer | null = null;

/** WriteWrap's oncomplete for raw writes (`this.owner` is the connection). */
function rawWritten(this: { owner: unknown }, status: number): void {
  (this.owner as Connection).rawWritten(status);
}

export class Connection implements RecordHandler, Flow, Wire, SinkOwner, RawSink {
  /** Last time bytes arrived (ms), for the read timeout. */
  lastRead = Date.now();
  dead = false;
  private readonly reader = new RecordReader(this);
  private readonly exchanges = new Map<number, Exchange>();
  /** Ids that ended before their STDIN did: their remaining records are drained silently. */
  private readonly draining = new Set<number>();
  private ready: Exchange[] = [];
  private type = 0;
  private id = 0;
  private length = 0;
  private mode = SKIP;
  private target: Exchange | null = null;
  private small: Uint8Array | null = null;
  private smallFill = 0;
  /** BEGIN_REQUEST's role and flags, read byte by byte (no buffer for 8 bytes). */
  private role = 0;
  private flags = 0;
  private paused = 0;
  private closing = false;
  private closeWhenIdle = false;
  /** Output queued at the last sweep (-1: none), and when it last changed (see `sweep`). */
  private queuedAtSweep = -1;
  private outputMoved = 0;
  /** The web server's EOF came: it sends nothing more (it may still read). */
  private peerEnded = false;
  private fresh = true;
  private strayLogged = false;
  private drainWait: Promise<void> | null = null;
  /** The accepted handle while no net.Socket wraps it (Node), else null. */
  private raw: RawHandle | null = null;
  private net: Socket | null = null;
  /** Raw writes libuv still holds. */
  private rawPending = 0;
  /** Close the raw handle once `rawPending` reaches 0 (the last response is with libuv). */
  private closeWhenWritten = false;

  /** `transport`: a net.Socket, or an accepted raw handle with the native operations (native.ts). */
  constructor(transport: Socket | RawHandle, private readonly ctx: Context, private readonly forget: (c: Connection) => void, private readonly native: Native | null = null) {
    if (transport instanceof Socket) this.attach(transport);
    else this.raw = transport;
  }

  /** The connection's net.Socket; on the raw path the first use wraps the handle in one. */
  get socket(): Socket {
    return this.net ?? this.wrap();
  }

  /** `emitsData`: false for a socket made by native.socket(), which hands its reads over itself. */
  private attach(socket: Socket, emitsData = true): Socket {
    this.net = socket;
    // Shared listeners (no closures per connection: with a connection per request, as nginx
    // and lighttpd do by default, every allocation here is paid on every request).
    (socket as OwnedSocket)[CONN] = this;
    if (emitsData) socket.on("data", onSocketData);
    socket.on("end", onSocketEnd);
    socket.on("error", onSocketError);
    socket.on("close", onSocketClose);
    return socket;
  }

  /** Hand the raw handle to a net.Socket, as net.Server does on accept; it reads from now on. */
  private wrap(): Socket {
    const h = this.raw;
    if (h === null || this.dead) {
      // Closed already: a stand-in, so late callers need no special case.
      const s = (this.net = new Socket());
      s.destroy();
      return s;
    }
    this.raw = null;
    return this.attach(this.native!.socket(h, (chunk) => this.onData(chunk)), false);
  }

  /**
   * Start reading a raw connection. The web server writes its records right after connecting,
   * so they are usually there at accept: reading them now saves the event loop a round.
   */
  start(): void {
    const h = this.raw;
    if (h === null) return;
    const first = (FIRST ??= Buffer.allocUnsafe(64 * 1024));
    const n = this.native!.readNow(h, first);
    if (n > 0) this.rawData(first, n);
    else if (n === 0) return this.onEnd();
    else if (n === -2) return this.kill();
    if (this.raw !== null && !this.dead) this.native!.read(this.raw, this);
  }

  // ---- the raw handle's events (native.ts)

  /** @internal `buf` is shared with every raw read: the records may keep what they are given, so a copy. */
  rawData(buf: Buffer, len: number): void {
    this.onData(Buffer.from(buf.subarray(0, len)));
  }
  /** @internal */
  rawEnd(): void {
    this.onEnd();
  }
  /** @internal */
  rawError(): void {
    this.kill();
  }
  /** @internal a raw write libuv held is done (`status` < 0: it failed). */
  rawWritten(status: number): void {
    this.rawPending--;
    if (this.raw === null) return; // wrapped meanwhile: the socket owns the handle now
    if (status < 0) return this.kill();
    if (this.rawPending === 0 && this.closeWhenWritten) this.kill();
  }

  /** @internal the socket closed. */
  closed(): void {
    this.gone();
    this.forget(this);
  }

  /** @internal */
  onData(chunk: Uint8Array): void {
    this.lastRead = Date.now();
    if (this.closing || this.dead) return; // draining until the peer's EOF
    this.reader.feed(chunk);
    if (this.ready.length > 0) {
      // Started after the whole chunk was read, so that a body that came along is known complete.
      const ready = this.ready;
      this.ready = [];
      for (const ex of ready) if (!ex.done) ex.start();
    }
  }

  /**
   * @internal The web server's EOF. In the middle of a record it is bad input. Otherwise it may
   * be only the end of what the web server sends: libfcgi's cgi-fcgi shuts down its writing side
   * once its stdin is done, possibly in the middle of the response it is reading, and an EOF looks the same
   * whether the peer still reads or closed for good. So requests whose input is whole are
   * answered to the end (as PHP-FPM and Go's net/http/fcgi do: they read nothing more once a
   * request is in); a peer that is gone shows when a write fails. Requests still waiting for
   * PARAMS or STDIN will never get them: they end as if the peer had gone.
   */
  onEnd(): void {
    if (this.dead) return;
    if (this.closing) {
      // The EOF we waited for after our own half-close. Output still queued goes first: the
      // socket closes once it is flushed (both sides have ended); the sweep ends a stuck one.
      if (this.queuedOut() > 0) return;
      return this.kill();
    }
    if (this.reader.midRecord) return this.fatal(`the web server closed the connection in the middle of a record (${this.reader.missing} bytes missing)`);
    this.peerEnded = true;
    let err: Error | null = null;
    for (const ex of this.exchanges.values()) {
      if (ex.paramsDone && ex.body.ended) continue;
      this.exchanges.delete(ex.id);
      ex.done = true;
      ex.sink.peerGone();
      ex.body.fail((err ??= new Error("the web server closed the FastCGI connection before the request's input was whole")));
      if (!ex.started) ex.release();
    }
    this.ready = this.ready.filter((ex) => !ex.done);
    if (this.exchanges.size === 0) {
      // Every response is out of our hands but maybe not yet written: let it go first.
      if (this.raw !== null && this.rawPending > 0) this.closeWhenWritten = true;
      else if (this.queuedOut() > 0) {
        this.closing = true;
        this.lastRead = Date.now();
        this.socket.end();
      } else this.kill();
      return;
    }
    // Close after the last response; nothing more will come in to drain.
    this.draining.clear();
    this.closeWhenIdle = true;
  }

  // ---- records in

  header(version: number, type: number, id: number, length: number): boolean {
    if (version !== VERSION) {
      this.fatal(`record with version byte ${version} (FastCGI 1 expects 1)`);
      return false;
    }
    this.type = type;
    this.id = id;
    this.length = length;
    this.mode = SKIP;
    this.target = null;
    if (id === 0) {
      // Management records (§4): only GET_VALUES is defined for the application to answer.
      if (type === GET_VALUES) this.collect(length);
      return true;
    }
    const ex = this.exchanges.get(id);
    switch (type) {
      case BEGIN_REQUEST:
        if (length !== 8) {
          this.fatal(`BEGIN_REQUEST for request ${id} has ${length} content bytes (8 expected)`);
          return false;
        }
        this.mode = TO_BEGIN;
        this.smallFill = 0;
        return true;
      case PARAMS:
        if (ex !== undefined && !ex.paramsDone) {
          this.mode = TO_PARAMS;
          this.target = ex;
        } else if (ex === undefined) this.stray(type, id);
        return true;
      case STDIN:
        if (ex !== undefined) {
          if (!ex.paramsDone) {
            this.fatal(`STDIN for request ${id} before its PARAMS ended`);
            return false;
          }
          if (!ex.body.ended) {
            this.mode = TO_STDIN;
            this.target = ex;
          }
        } else this.stray(type, id);
        return true;
      case ABORT_REQUEST:
      case DATA: // the Filter role's file stream: we play Responder and Authorizer only
        if (ex === undefined && type === ABORT_REQUEST) this.stray(type, id);
        return true;
      default:
        this.stray(type, id);
        return true;
    }
  }

  content(chunk: Uint8Array, start: number, end: number): void {
    switch (this.mode) {
      case TO_STDIN:
        this.target!.body.push(start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end));
        return;
      case TO_PARAMS:
        if (!this.target!.addParams(chunk, start, end)) this.paramsTooLarge(this.target!);
        return;
      case TO_BEGIN:
        // FCGI_BeginRequestBody (§5.1): roleB1, roleB0, flags, 5 reserved bytes.
        for (let i = start; i < end; i++) {
          const at = this.smallFill++;
          if (at === 0) this.role = chunk[i] << 8;
          else if (at === 1) this.role |= chunk[i];
          else if (at === 2) this.flags = chunk[i];
        }
        return;
      case COLLECT:
        this.small!.set(chunk.subarray(start, end), this.smallFill);
        this.smallFill += end - start;
    }
  }

  end(): boolean {
    this.fresh = false;
    const id = this.id;
    if (id === 0) {
      if (this.type === GET_VALUES) return this.getValues(this.small!);
      this.ctx.log(`fastcgi: management record of unknown type ${this.type}; answered FCGI_UNKNOWN_TYPE`);
      this.write(unknownTypeRecord(this.type));
      return true;
    }
    switch (this.type) {
      case BEGIN_REQUEST:
        return this.begin(id, this.role, (this.flags & KEEP_CONN) !== 0);
      case ABORT_REQUEST:
        this.abortRequest(id);
        return true;
      case PARAMS:
        if (this.length === 0 && this.mode === TO_PARAMS) this.paramsEnd(this.target!);
        return true;
      case STDIN:
        if (this.length === 0) {
          if (this.mode === TO_STDIN) this.target!.body.end();
          else this.draining.delete(id);
        }
        return true;
    }
    return true;
  }

  private collect(length: number): void {
    this.mode = COLLECT;
    this.small = new Uint8Array(length);
    this.smallFill = 0;
  }

  /** A record for an id that is not active: ignored (§3.3), with one log line per connection. */
  private stray(type: number, id: number): void {
    if (this.draining.has(id)) return; // the rest of a request we already answered
    if (this.strayLogged) return;
    this.strayLogged = true;
    this.ctx.log(`fastcgi: ignoring a record of type ${type} for request id ${id}, which is not active (further ones on this connection are ignored silently)`);
  }

  private getValues(body: Uint8Array): boolean {
    const answer: [string, string][] = [];
    try {
      decodePairs(body, (name) => {
        if (name === "FCGI_MAX_CONNS") answer.push([name, String(this.ctx.maxConns)]);
        else if (name === "FCGI_MAX_REQS") answer.push([name, String(this.ctx.maxReqs)]);
        else if (name === "FCGI_MPXS_CONNS") answer.push([name, this.ctx.multiplex ? "1" : "0"]);
      });
    } catch (err) {
      this.fatal(`malformed FCGI_GET_VALUES: ${(err as Error).message}`);
      return false;
    }
    this.write(record(GET_VALUES_RESULT, 0, encodePairs(answer)));
    return true;
  }

  private begin(id: number, role: number, keepConn: boolean): boolean {
    if (this.exchanges.has(id)) {
      this.fatal(`BEGIN_REQUEST for request id ${id}, which is still active`);
      return false;
    }
    this.draining.delete(id);
    let refusal = -1;
    let why = "";
    if (role !== RESPONDER && role !== AUTHORIZER) [refusal, why] = [UNKNOWN_ROLE, `role ${role} (tsgi plays Responder and Authorizer)`];
    else if (!this.ctx.multiplex && this.exchanges.size > 0) [refusal, why] = [CANT_MPX_CONN, "a second request on one connection, and multiplexing is off"];
    else if (this.ctx.active >= this.ctx.maxReqs) [refusal, why] = [OVERLOADED, `${this.ctx.active} requests in progress (the limit is ${this.ctx.maxReqs})`];
    if (refusal >= 0) {
      this.ctx.log(`fastcgi: refused request ${id}: ${why}`);
      this.write(endRequestRecord(id, 0, refusal));
      this.draining.add(id);
      if (!keepConn) {
        this.closeWhenIdle = true;
        if (this.exchanges.size === 0) this.closeGracefully();
      }
      return true;
    }
    this.ctx.active++;
    this.exchanges.set(id, new Exchange(id, role, keepConn, this.ctx, this, this, this));
    return true;
  }

  private paramsEnd(ex: Exchange): void {
    try {
      ex.decodeParams();
    } catch (err) {
      if (!(err instanceof PairsError)) throw err;
      this.ctx.log(`fastcgi request ${ex.id}: malformed PARAMS (${err.message}); answered 400`);
      sendText(ex.sink, 400, "Bad Request", "malformed FastCGI PARAMS\n");
      ex.release();
      return;
    }
    this.ready.push(ex);
  }

  private paramsTooLarge(ex: Exchange): void {
    this.ctx.log(`fastcgi request ${ex.id}: PARAMS exceed the limit of ${this.ctx.maxParamsSize} bytes; answered 431 (raise maxParamsSize)`);
    ex.paramsDone = true;
    this.mode = SKIP;
    sendText(ex.sink, 431, "Request Header Fields Too Large", `request parameters exceed ${this.ctx.maxParamsSize} bytes\n`);
    ex.release();
  }

  private abortRequest(id: number): void {
    const ex = this.exchanges.get(id);
    if (ex === undefined) return;
    // §5.4: tell the app, then end the request "as soon as possible" with END_REQUEST.
    ex.sink.peerGone();
    ex.body.fail(new Error(`the web server aborted request ${id} (FCGI_ABORT_REQUEST)`));
    ex.sink.finished = true;
    this.write(endRequestRecord(id, 0, REQUEST_COMPLETE));
    this.finish(ex);
    if (!ex.started) ex.release();
  }

  // ---- requests ending

  /** SinkOwner: END_REQUEST for `sink` went out. */
  ended(sink: FastCgiSink): void {
    const ex = this.exchanges.get(sink.id);
    if (ex !== undefined && ex.sink === sink) this.finish(ex);
  }

  /**
   * SinkOwner: a response cannot be completed (the app failed mid-body, or broke its own
   * Content-Length). FastCGI has no "truncated" signal, and nginx takes an EOF without
   * END_REQUEST as the end of a close-delimited body; a record header with version 0 is a hard
   * error in nginx, Apache and HAProxy, so the client sees a cut response. Then close.
   */
  aborted(sink: FastCgiSink, reason: unknown): void {
    void reason; // the core logged why
    if (this.exchanges.get(sink.id)?.sink !== sink) return;
    this.write(BROKEN);
    this.gone();
    // Half-close so the queued bytes still go out; the sweep destroys it if the peer lingers.
    this.closing = true;
    this.lastRead = Date.now();
    this.socket.end();
  }

  private finish(ex: Exchange): void {
    ex.done = true;
    this.exchanges.delete(ex.id);
    if (!ex.body.ended) {
      // Answered before STDIN ended: drain the rest (closing with unread input makes nginx 502).
      this.draining.add(ex.id);
      ex.body.discard();
    }
    if (!ex.keepConn) this.closeWhenIdle = true;
    if (this.closeWhenIdle && this.exchanges.size === 0) this.closeGracefully();
  }

  /**
   * FCGI_KEEP_CONN was clear: we close (§3.5). When every request's input has arrived (the
   * usual case: nginx and lighttpd send all records before we answer) and our output is with the
   * kernel, close outright: with nothing unread there is no reset, and skipping the half-close
   * and the wait for the peer's EOF saved about a fifth of the CPU of a connection per request.
   * Otherwise half-close and drain until the peer's EOF, so unread input never causes a reset.
   */
  private closeGracefully(): void {
    if (this.closing || this.dead) return;
    if ((this.draining.size === 0 || this.peerEnded) && !this.reader.midRecord) {
      if (this.raw !== null) {
        // Everything came in; close once libuv has written what it still holds.
        if (this.rawPending === 0) this.kill();
        else this.closeWhenWritten = true;
        return;
      }
      if (this.queuedOut() === 0) {
        this.kill();
        return;
      }
    }
    this.closing = true;
    this.lastRead = Date.now();
    this.socket.end();
  }

  /**
   * Output the kernel has not taken yet, in bytes: a net.Socket's own buffer, and what libuv
   * still holds (raw writes, also those from before a net.Socket wrapped the handle). Closing
   * the handle while libuv holds bytes would cancel them.
   */
  private queuedOut(): number {
    const s = this.net;
    const h = (this.raw ?? (s as unknown as { _handle?: { writeQueueSize?: unknown } | null } | null)?._handle) as { writeQueueSize?: unknown } | null | undefined;
    // writeQueueSize: libuv's count (Node); elsewhere only whether raw writes are pending.
    return (s === null ? 0 : s.writableLength) + (typeof h?.writeQueueSize === "number" ? h.writeQueueSize : this.rawPending);
  }

  /** Bad input on the connection: one log line, end every request on it, close it. */
  fatal(message: string): void {
    if (this.dead) return;
    this.ctx.log(`fastcgi: ${message}; connection closed`);
    this.kill();
  }

  kill(): void {
    this.gone();
    const h = this.raw;
    if (h === null) {
      this.socket.destroy();
      return;
    }
    // No 'close' event comes from a raw handle: forget it here (close() stops reading too).
    this.raw = null;
    h[kSink] = undefined;
    h.close();
    this.forget(this);
  }

  /** The connection is over: every request on it sees its peer gone. */
  private gone(): void {
    if (this.dead) return;
    this.dead = true;
    if (this.exchanges.size > 0) {
      // Only now: an Error captures a stack, too dear for every connection's normal end.
      const err = new Error("the web server closed the FastCGI connection");
      for (const ex of this.exchanges.values()) {
        ex.done = true;
        ex.sink.peerGone();
        ex.body.fail(err);
        if (!ex.started) ex.release();
      }
      this.exchanges.clear();
    }
    if (this.ready.length > 0) this.ready = [];
    if (this.paused > 0) this.socket.resume();
  }

  /** Called about once a second: the read timeout, and connections slow to close. */
  sweep(now: number): void {
    const idle = now - this.lastRead;
    const queued = this.queuedOut();
    if (queued > 0) {
      // Output waiting for the web server to take it (one relaying to a slow client): that is
      // neither idleness nor lingering. It may stall as long as the read timeout allows (0: for
      // good; the web server's own timeouts end it then), counted from the last progress.
      if (queued !== this.queuedAtSweep) {
        this.queuedAtSweep = queued;
        this.outputMoved = now;
      } else if (this.ctx.readTimeout > 0 && now - this.outputMoved > Math.max(this.ctx.readTimeout, LINGER_MS)) {
        const stalled = `the web server took none of the ${queued} bytes of output waiting for it for ${Math.round((now - this.outputMoved) / 1000)} s (readTimeout ${this.ctx.readTimeout} ms)`;
        if (this.dead) this.kill(); // already cut (an aborted response): no second line
        else this.fatal(stalled);
      }
      return;
    }
    this.queuedAtSweep = -1;
    if (this.closing) {
      if (idle > LINGER_MS) this.kill();
      return;
    }
    if (this.dead) return;
    if (this.ctx.readTimeout <= 0 || idle <= this.ctx.readTimeout || this.paused > 0) return;
    let waiting = "";
    if (this.reader.midRecord) waiting = `in the middle of a record (${this.reader.missing} bytes missing)`;
    else if (this.fresh) waiting = "before its first record";
    else {
      for (const ex of this.exchanges.values()) {
        if (!ex.paramsDone) waiting = `while request ${ex.id} waited for PARAMS`;
        else if (!ex.body.ended) waiting = `while request ${ex.id} waited for STDIN`;
        if (waiting) break;
      }
    }
    if (waiting) this.fatal(`no bytes from the web server for ${Math.round(idle / 1000)} s ${waiting} (readTimeout ${this.ctx.readTimeout} ms)`);
  }

  /** Stop: close idle connections now; busy ones close after their last request. */
  shutdown(): void {
    this.closeWhenIdle = true;
    if (this.exchanges.size === 0) this.closeGracefully();
  }

  get busy(): boolean {
    return this.exchanges.size > 0;
  }

  // ---- Flow (STDIN backpressure) and Wire (output)

  pause(): void {
    if (this.paused++ === 0 && !this.dead) this.socket.pause();
  }

  resume(): void {
    if (--this.paused === 0 && !this.dead) {
      this.lastRead = Date.now(); // the read timeout counts from when we wanted bytes again
      this.socket.resume();
    }
  }

  write(bytes: Uint8Array): boolean {
    if (this.dead) return true;
    const h = this.raw;
    if (h === null) return this.socket.write(bytes);
    const r = this.native!.write(h, "", bytes, rawWritten, this);
    if (r === 1) this.rawPending++;
    else if (r < 0) this.kill(); // EPIPE and the like: the peer is gone
    return this.rawPending === 0;
  }

  drained(): Promise<void> {
    if (this.dead) return Promise.resolve();
    // Output libuv holds for a raw handle: wait on a net.Socket from here on (libuv keeps the
    // order of writes queued before and after the wrap).
    if (this.raw !== null && this.rawPending === 0) return Promise.resolve();
    if (!this.socket.writableNeedDrain) return Promise.resolve();
    return (this.drainWait ??= new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        this.drainWait = null;
        resolve();
      };
      this.socket.on("drain", done);
      this.socket.on("close", done);
    }));
  }
}
