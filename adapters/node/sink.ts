/** The core's ResponseSink on a node:http ServerResponse. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Header, ResponseSink } from "../../src/index.ts";

export class NodeSink implements ResponseSink {
  private closeListeners: (() => void)[] | null = null;
  private finished = false;

  constructor(private readonly res: ServerResponse) {
    res.once("close", () => {
      if (this.finished) return;
      const ls = this.closeListeners;
      this.closeListeners = null;
      if (ls) for (const l of ls) l();
    });
  }

  get closed(): boolean {
    // `destroyed` flips when the socket goes away before the response ended.
    return !this.finished && this.res.destroyed;
  }

  onClose(listener: () => void): void {
    (this.closeListeners ??= []).push(listener);
  }

  start(status: number, reason: string, headers: Header[]): void {
    const flat: string[] = new Array(headers.length * 2);
    for (let i = 0; i < headers.length; i++) {
      flat[2 * i] = headers[i][0];
      flat[2 * i + 1] = headers[i][1];
    }
    // A flat array keeps repeated headers (Set-Cookie) as separate lines, in order.
    this.res.writeHead(status, reason, flat);
  }

  write(chunk: Uint8Array): void | Promise<void> {
    if (this.res.write(chunk)) return;
    // The socket buffer is full: wait for drain (or close) before producing more.
    return new Promise<void>((resolve) => {
      const done = () => {
        this.res.off("drain", done);
        this.res.off("close", done);
        resolve();
      };
      this.res.on("drain", done);
      this.res.on("close", done);
    });
  }

  end(): void {
    this.finished = true;
    this.res.end();
  }

  abort(reason: unknown): void {
    this.finished = true;
    // Destroying the socket is the only way to tell an HTTP/1.1 client the body is incomplete.
    this.res.destroy(reason instanceof Error ? reason : undefined);
  }
}

/** The request body as the core wants it: null when the request has none. */
export function bodyOf(req: IncomingMessage): AsyncIterable<Uint8Array> | null {
  const h = req.headers;
  if (h["transfer-encoding"] === undefined && (h["content-length"] === undefined || h["content-length"] === "0")) {
    return null;
  }
  return req;
}
