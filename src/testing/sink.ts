/**
 * An in-memory ResponseSink: the core's output as values, for tests and for the test client.
 * It is a sink (the last stage of the response path), not a stand-in for any peer.
 */
import type { ResponseSink } from "../request.ts";
import type { ErrorStream, Header } from "../spec.ts";

export class MemorySink implements ResponseSink {
  status = 0;
  reason = "";
  headers: Header[] = [];
  readonly chunks: Uint8Array[] = [];
  /** The order of calls, e.g. `["start", "write", "end"]`, to check the core's contract. */
  readonly calls: string[] = [];
  ended = false;
  aborted: { reason: unknown } | null = null;
  /** When set, every write waits for this many milliseconds (a slow peer). */
  writeDelay = 0;
  /** Disconnect after this many writes (a client that leaves mid-body). */
  disconnectAfter = Infinity;
  readonly errors?: ErrorStream;
  private gone = false;
  private listeners: (() => void)[] = [];

  constructor(options: { errors?: ErrorStream } = {}) {
    this.errors = options.errors;
  }

  get closed(): boolean {
    return this.gone;
  }

  onClose(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** The peer goes away. */
  disconnect(): void {
    if (this.gone || this.ended) return;
    this.gone = true;
    for (const l of this.listeners.splice(0)) l();
  }

  start(status: number, reason: string, headers: Header[]): void {
    this.calls.push("start");
    this.status = status;
    this.reason = reason;
    this.headers = headers;
  }

  write(chunk: Uint8Array): void | Promise<void> {
    this.calls.push("write");
    this.chunks.push(chunk.slice());
    if (this.chunks.length >= this.disconnectAfter) this.disconnect();
    if (this.writeDelay > 0) return new Promise((resolve) => setTimeout(resolve, this.writeDelay));
  }

  end(): void {
    this.calls.push("end");
    this.ended = true;
  }

  abort(reason: unknown): void {
    this.calls.push("abort");
    this.aborted = { reason };
  }

  /** The whole body written so far. */
  body(): Uint8Array {
    let n = 0;
    for (const c of this.chunks) n += c.length;
    const out = new Uint8Array(n);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }

  text(): string {
    return new TextDecoder().decode(this.body());
  }

  /** The first value of a header, by case-insensitive name. */
  header(name: string): string | undefined {
    const lower = name.toLowerCase();
    for (const [n, v] of this.headers) if (n.toLowerCase() === lower) return v;
    return undefined;
  }
}
