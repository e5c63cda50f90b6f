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
import type { Header, ResponseSink } from "../../src/index.ts";
import type { Connection } from "./connection.ts";

export class UwsgiSink implements ResponseSink {
  private finished = false;
  private corked = false;

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
    // above U+00FF), so latin1 writes them byte for byte.
    this.status = status;
    let head = this.version + " " + status + " " + reason + "\r\n";
    for (let i = 0; i < headers.length; i++) head += headers[i][0] + ": " + headers[i][1] + "\r\n";
    head += "\r\n";
    const socket = this.conn.socket;
    if (this.conn.gone) return;
    // Corked: the head and the first body chunk leave in one writev.
    socket.cork();
    this.corked = true;
    socket.write(head, "latin1");
  }

  write(chunk: Uint8Array): void | Promise<void> {
    if (this.conn.gone) return;
    const socket = this.conn.socket;
    this.bytes += chunk.length;
    const ok = socket.write(chunk);
    if (this.corked) {
      this.corked = false;
      socket.uncork();
    }
    if (!ok) return this.conn.waitWritable();
  }

  end(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.access !== null) this.logAccess();
    if (this.corked) {
      this.corked = false;
      this.conn.socket.uncork();
    }
    this.conn.finish();
  }

  abort(_reason: unknown): void {
    if (this.finished) return;
    this.finished = true;
    if (this.access !== null) this.logAccess();
    if (this.corked) {
      this.corked = false;
      this.conn.socket.uncork();
    }
    this.conn.abortResponse();
  }

  private logAccess(): void {
    const { log, params: p, t0 } = this.access!;
    const ms = (performance.now() - t0).toFixed(1);
    log(`${p.REMOTE_ADDR || "-"} - - [${new Date().toISOString()}] "${p.REQUEST_METHOD} ${p.REQUEST_URI ?? p.PATH_INFO} ${p.SERVER_PROTOCOL}" ${this.status || "-"} ${this.bytes} ${ms}ms`);
  }
}

/** What an access-log line needs from the request. */
export interface AccessContext {
  log: (line: string) => void;
  params: Record<string, string>;
  t0: number;
}

/** A complete plain-text HTTP response for requests the listener itself refuses. */
export function errorResponse(status: number, reason: string, text: string): Buffer {
  const body = Buffer.from(text, "utf8");
  return Buffer.concat([
    Buffer.from(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n`, "latin1"),
    body,
  ]);
}
