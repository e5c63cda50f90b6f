/**
 * A deliberately small HTTP/1.1 client over raw sockets (node:net), for the battery: it sends
 * exactly the bytes a case asks for and reports exactly what came back, including things a
 * normal client hides (interim 1xx responses, repeated headers, how a body was framed, a body
 * cut short, whether the server closed the connection).
 */
import { connect, type Socket } from "node:net";

/** Where the server under test listens. */
export type Endpoint = { host: string; port: number } | { path: string };

/** One parsed response. Header names keep the case they had on the wire. */
export interface RawResponse {
  httpVersion: string;
  status: number;
  reason: string;
  headers: [name: string, value: string][];
  body: Buffer;
  /** The body's framing completed (Content-Length reached, last chunk seen, or closed when close-delimited). */
  complete: boolean;
  /** The body was sent with Transfer-Encoding: chunked. */
  chunked: boolean;
  /** Interim (1xx) responses received before this one. */
  interim: number[];
  /** ms (performance.now) when the first body byte and the end arrived. */
  firstByteAt: number;
  endAt: number;
}

/** First value of a header (case-insensitive), or undefined. */
export function header(res: RawResponse, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [n, v] of res.headers) if (n.toLowerCase() === lower) return v;
  return undefined;
}

/** Every value of a header, in order. */
export function headerAll(res: RawResponse, name: string): string[] {
  const lower = name.toLowerCase();
  return res.headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

const CRLFCRLF = Buffer.from("\r\n\r\n");

/** One client connection; responses are read in order with `readResponse`. */
export class Connection {
  private chunks: Buffer[] = [];
  private length = 0;
  private ended = false;
  private error: Error | null = null;
  private wake: (() => void) | null = null;

  private constructor(readonly socket: Socket) {
    socket.on("data", (d: Buffer) => {
      this.chunks.push(d);
      this.length += d.length;
      this.notify();
    });
    socket.on("end", () => {
      this.ended = true;
      this.notify();
    });
    socket.on("close", () => {
      this.ended = true;
      this.notify();
    });
    socket.on("error", (err) => {
      this.error = err;
      this.ended = true;
      this.notify();
    });
  }

  static open(endpoint: Endpoint, timeoutMs = 10_000): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = "path" in endpoint ? connect(endpoint.path) : connect(endpoint.port, endpoint.host);
      socket.setNoDelay(true);
      const t = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connecting to ${JSON.stringify(endpoint)} timed out`));
      }, timeoutMs);
      socket.once("connect", () => {
        clearTimeout(t);
        socket.removeAllListeners("error");
        resolve(new Connection(socket));
      });
      socket.once("error", (err) => {
        clearTimeout(t);
        reject(err);
      });
    });
  }

  /** Send bytes; strings are sent as Latin-1 (one byte per char), like the request line. */
  write(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(typeof data === "string" ? Buffer.from(data, "latin1") : data, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** True once the server closed its side and every received byte was consumed. */
  get drained(): boolean {
    return this.ended && this.length === 0;
  }

  /** Wait until the server closes the connection (true) or `ms` pass (false). */
  async waitClosed(ms: number): Promise<boolean> {
    const deadline = performance.now() + ms;
    while (!this.ended) {
      if (!(await this.fill(deadline, true))) break;
    }
    return this.ended;
  }

  /** Wait until at least `n` unread bytes arrived (true) or `ms` pass / the stream ends (false). */
  async waitBytes(n: number, ms: number): Promise<boolean> {
    const deadline = performance.now() + ms;
    while (this.length < n) if (!(await this.fill(deadline, true))) return false;
    return true;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Wait for more data; false at end of stream. Throws at the deadline unless `quiet`. */
  private fill(deadline: number, quiet = false): Promise<boolean> {
    if (this.ended) return Promise.resolve(false);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.wake = null;
        if (quiet) resolve(false);
        else reject(new Error(`timed out waiting for the server (${this.length} bytes unparsed)`));
      }, Math.max(0, deadline - performance.now()));
      this.wake = () => {
        clearTimeout(t);
        resolve(true);
      };
    });
  }

  private merged(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private take(n: number): Buffer {
    const b = this.merged();
    const out = b.subarray(0, n);
    const rest = b.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.length -= n;
    return out;
  }

  /** Bytes up to and including `sep`, or null if the stream ended first. */
  private async until(sep: Buffer, deadline: number, limit = 1 << 20): Promise<Buffer | null> {
    for (;;) {
      const i = this.merged().indexOf(sep);
      if (i >= 0) return this.take(i + sep.length);
      if (this.length > limit) throw new Error(`no ${JSON.stringify(sep.toString())} within ${limit} bytes`);
      if (!(await this.fill(deadline))) return null;
    }
  }

  /** Exactly n bytes, or fewer if the stream ended first. */
  private async exactly(n: number, deadline: number): Promise<Buffer> {
    while (this.length < n) if (!(await this.fill(deadline))) break;
    return Buffer.from(this.take(Math.min(n, this.length)));
  }

  /**
   * Read one interim (1xx) response head if one arrives within `ms`; null otherwise. Used for
   * `Expect: 100-continue`, where the client must wait for it before sending the body.
   */
  async readInterim(ms: number): Promise<number | null> {
    const deadline = performance.now() + ms;
    while (this.merged().indexOf(CRLFCRLF) < 0) {
      if (!(await this.fill(deadline, true))) return null;
    }
    const m = /^HTTP\/\d\.\d (\d{3})/.exec(this.merged().subarray(0, 12).toString("latin1"));
    if (!m || m[1][0] !== "1") return null;
    await this.until(CRLFCRLF, deadline);
    return Number(m[1]);
  }

  /** Read the next response. `head`: it answers a HEAD request (no body follows). */
  async readResponse(opts: { head?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    const deadline = performance.now() + (opts.timeoutMs ?? 10_000);
    const interim: number[] = [];
    for (;;) {
      const raw = await this.until(CRLFCRLF, deadline, 256 * 1024);
      if (raw === null) {
        throw new Error(this.error ? `connection failed: ${this.error.message}` : `the server closed the connection before a response${this.length ? ` (${this.length} stray bytes)` : ""}`);
      }
      const lines = raw.toString("latin1").slice(0, -4).split("\r\n");
      const m = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(lines[0]);
      if (!m) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
      const status = Number(m[2]);
      const headers: [string, string][] = [];
      for (let i = 1; i < lines.length; i++) {
        const c = lines[i].indexOf(":");
        if (c <= 0) throw new Error(`bad header line ${JSON.stringify(lines[i])}`);
        headers.push([lines[i].slice(0, c), lines[i].slice(c + 1).trim()]);
      }
      if (status >= 100 && status < 200 && status !== 101) {
        interim.push(status);
        continue;
      }
      const res: RawResponse = { httpVersion: m[1], status, reason: m[3] ?? "", headers, body: Buffer.alloc(0), complete: true, chunked: false, interim, firstByteAt: 0, endAt: 0 };
      await this.readBody(res, opts.head === true, deadline);
      res.endAt = performance.now();
      return res;
    }
  }

  private async readBody(res: RawResponse, head: boolean, deadline: number): Promise<void> {
    if (head || res.status === 204 || res.status === 304 || res.status < 200) return;
    const te = header(res, "transfer-encoding");
    const cl = header(res, "content-length");
    if (te !== undefined && /chunked/i.test(te)) {
      res.chunked = true;
      const parts: Buffer[] = [];
      for (;;) {
        const line = await this.until(Buffer.from("\r\n"), deadline);
        if (line === null) {
          res.complete = false;
          break;
        }
        if (!res.firstByteAt) res.firstByteAt = performance.now();
        const size = parseInt(line.toString("latin1"), 16);
        if (!Number.isFinite(size)) throw new Error(`bad chunk size line ${JSON.stringify(line.toString("latin1"))}`);
        if (size === 0) {
          // Trailer section: lines until an empty one.
          for (;;) {
            const t = await this.until(Buffer.from("\r\n"), deadline);
            if (t === null) {
              res.complete = false;
              break;
            }
            if (t.length === 2) break;
          }
          break;
        }
        const data = await this.exactly(size, deadline);
        parts.push(data);
        const crlf = await this.exactly(2, deadline);
        if (data.length < size || crlf.toString() !== "\r\n") {
          res.complete = false;
          break;
        }
      }
      res.body = Buffer.concat(parts);
    } else if (cl !== undefined) {
      const n = Number(cl);
      if (n > 0) {
        while (this.length === 0) if (!(await this.fill(deadline))) break;
        res.firstByteAt = performance.now();
      }
      res.body = await this.exactly(n, deadline);
      res.complete = res.body.length === n;
    } else {
      // Close-delimited: everything until the server closes.
      const parts: Buffer[] = [];
      for (;;) {
        if (this.length > 0) {
          if (!res.firstByteAt) res.firstByteAt = performance.now();
          parts.push(Buffer.from(this.take(this.length)));
        }
        if (!(await this.fill(deadline))) break;
      }
      res.body = Buffer.concat(parts);
    }
  }
}
