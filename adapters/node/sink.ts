/** The core's ResponseSink on a node:http ServerResponse. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Header, ResponseSink } from "../../src/index.ts";

/** Bodies up to this size go out in one write with the head (see endWith). */
const SMALL_BODY = 16 * 1024;

function latin1(chunk: Uint8Array): string {
  return (Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)).toString("latin1");
}

/** How long a truncated response may take to flush before its socket is cut. */
const ABORT_FLUSH_MS = 5000;

export class NodeSink implements ResponseSink {
  /** Body bytes handed to node (for the access log). */
  bytes = 0;
  private finished = false;
  private closeListeners: (() => void)[] | null = null;
  private drainWaiter: (() => void) | null = null;
  /** The first body chunk, held until end() or the next tick so that a one-chunk body goes out with end(). */
  pending: Uint8Array | null = null;

  // No listener is registered per request up front: the sync path only polls `closed`, and
  // `onClose`/`write` subscribe when they need to (a listener per request costs ~1% at 40k req/s).
  constructor(private readonly res: ServerResponse) {}

  /** The peer went away before the response ended (node marks the response destroyed). */
  get closed(): boolean {
    return !this.finished && this.res.destroyed;
  }

  onClose(listener: () => void): void {
    if (this.closeListeners === null) {
      this.closeListeners = [];
      this.res.once("close", () => this.onResClose());
    }
    this.closeListeners.push(listener);
  }

  private onResClose(): void {
    if (this.finished) return;
    const ls = this.closeListeners;
    this.closeListeners = null;
    if (ls) for (const l of ls) l();
  }

  private wake(): void {
    const w = this.drainWaiter;
    if (w === null) return;
    this.drainWaiter = null;
    w();
  }

  start(status: number, reason: string, headers: Header[]): void {
    // node takes a list of [name, value] pairs as is, keeping repeated headers (Set-Cookie)
    // as separate lines, in order.
    this.res.writeHead(status, reason, headers);
  }

  write(chunk: Uint8Array): void | Promise<void> {
    const res = this.res;
    if (res.destroyed) return;
    if (this.bytes === 0) {
      // Hold the first chunk: most responses are one chunk followed at once by end(), and
      // res.end(chunk) is one pass through node's writer instead of two. Held at most until
      // the next tick (node itself corks the socket until then), so streaming is not delayed.
      this.bytes = chunk.length;
      this.pending = chunk;
      process.nextTick(flushPending, this);
      return;
    }
    if (this.pending !== null) this.flush();
    this.bytes += chunk.length;
    if (res.write(chunk)) return;
    // The socket buffer is full: wait for drain (or close) before producing more. This is what
    // keeps a slow client from making the server buffer a whole large body.
    return new Promise<void>((resolve) => {
      this.drainWaiter = resolve;
      const wake = () => {
        res.off("drain", wake);
        res.off("close", wake);
        this.wake();
      };
      res.on("drain", wake);
      res.on("close", wake);
    });
  }

  /** Send the held first chunk now. */
  flush(): void {
    const p = this.pending;
    if (p === null) return;
    this.pending = null;
    if (!this.res.destroyed) this.res.write(p);
  }

  /**
   * The whole body in one call. node writes head and body in one write() only when the body is
   * a string (a Buffer makes it a writev of two); latin1 maps bytes to chars one to one, so a
   * small body goes as a latin1 string.
   */
  endWith(chunk: Uint8Array): void {
    this.finished = true;
    this.bytes += chunk.length;
    const p = this.pending;
    if (p !== null) {
      this.pending = null;
      if (!this.res.destroyed) this.res.write(p);
    }
    if (chunk.length <= SMALL_BODY && !this.res.headersSent) this.res.end(latin1(chunk), "latin1");
    else this.res.end(chunk);
  }

  /** The whole body as a string: node writes head and UTF-8 text in one write, no Buffer made. */
  endWithText(text: string, byteLength: number): void {
    this.finished = true;
    this.bytes += byteLength;
    const p = this.pending;
    if (p !== null) {
      this.pending = null;
      if (!this.res.destroyed) this.res.write(p);
    }
    this.res.end(text, "utf8");
  }

  end(): void {
    this.finished = true;
    const p = this.pending;
    if (p !== null) {
      this.pending = null;
      this.res.end(p);
    } else this.res.end();
  }

  abort(_reason: unknown): void {
    this.flush();
    this.finished = true;
    const res = this.res;
    const sock = res.socket;
    if (!res.headersSent || sock === null || sock.destroyed) {
      res.destroy();
      return;
    }
    // Headers and some body went out. The only way to tell an HTTP/1.1 client the body is
    // incomplete is to close the connection without the last chunk (RFC 9112 §8). end() rather
    // than destroy(): destroy would drop body bytes still queued in the socket, and the client
    // should get everything the app did produce.
    sock.end();
    setTimeout(() => sock.destroy(), ABORT_FLUSH_MS).unref();
  }
}

function flushPending(sink: NodeSink): void {
  sink.flush();
}

/**
 * The request body as the core wants it: null when the request has none (RFC 9112 §6.3: no
 * Content-Length and no Transfer-Encoding, or Content-Length 0). Reads rawHeaders, not
 * `req.headers`: node builds that object lazily, and building it costs every request.
 */
export function bodyOf(req: IncomingMessage): AsyncIterable<Uint8Array> | null {
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const len = raw[i].length;
    if (len === 17 && raw[i].toLowerCase() === "transfer-encoding") return req;
    if (len === 14 && raw[i].toLowerCase() === "content-length" && raw[i + 1] !== "0") return req;
  }
  return null;
}

/**
 * The body of a request that sent `Expect: 100-continue`: the interim 100 goes out when the
 * core first pulls the body, so that a request answered without reading it (413, an app that
 * ignores the body) never invites the client to upload.
 */
export function continueOnPull(req: IncomingMessage, res: ServerResponse): AsyncIterable<Uint8Array> | null {
  const body = bodyOf(req);
  if (body === null) return null;
  return {
    [Symbol.asyncIterator]() {
      const it = req[Symbol.asyncIterator]();
      let sent = false;
      return {
        next() {
          if (!sent) {
            sent = true;
            if (!res.headersSent) res.writeContinue();
          }
          return it.next();
        },
        return(value?: unknown) {
          return it.return ? it.return(value) : Promise.resolve({ done: true as const, value: undefined });
        },
      };
    },
  };
}
