/**
 * A ResponseSink read back from the other end: the status and headers as a promise, the body
 * as an async iterator. Bridges and the middleware use it to turn the core's push-style output
 * into a value. Backpressure is lockstep: `write` resolves once the reader took the chunk, so
 * the app never runs ahead of whoever consumes the body.
 */
import type { ResponseSink } from "../request.ts";
import type { Header } from "../spec.ts";

/** What `start` delivered. */
export interface PipeHead {
  status: number;
  reason: string;
  headers: Header[];
}

export class PipeSink implements ResponseSink {
  /** Settles at `start` (or rejects when the response fails before it). */
  readonly head: Promise<PipeHead>;
  private settleHead!: (h: PipeHead) => void;
  private failHead!: (err: unknown) => void;
  private started = false;
  private queue: Uint8Array[] = [];
  private ended = false;
  private error: { reason: unknown } | null = null;
  private reader: (() => void) | null = null;
  private writer: (() => void) | null = null;
  private cancelled = false;
  private listeners: (() => void)[] = [];

  constructor() {
    this.head = new Promise<PipeHead>((resolve, reject) => {
      this.settleHead = resolve;
      this.failHead = reject;
    });
    this.head.catch(() => {}); // a failure nobody awaited is not an unhandled rejection
  }

  get closed(): boolean {
    return this.cancelled;
  }

  onClose(listener: () => void): void {
    this.listeners.push(listener);
  }

  start(status: number, reason: string, headers: Header[]): void {
    this.started = true;
    this.settleHead({ status, reason, headers });
  }

  write(chunk: Uint8Array): void | Promise<void> {
    if (this.cancelled) return;
    this.queue.push(chunk);
    this.wakeReader();
    return new Promise<void>((resolve) => (this.writer = resolve));
  }

  end(): void {
    this.ended = true;
    this.wakeReader();
  }

  /** The response failed: before `start` the head rejects, after it the body throws. */
  abort(reason: unknown): void {
    if (!this.started) {
      this.started = true;
      this.failHead(reason);
    }
    this.error ??= { reason };
    this.wakeReader();
  }

  /** The reader gave up (a client left): close listeners run, pending writes resolve. */
  cancel(): void {
    if (this.cancelled || (this.ended && this.queue.length === 0)) return;
    this.cancelled = true;
    this.queue.length = 0;
    this.wakeWriter();
    for (const l of this.listeners.splice(0)) l();
  }

  /** The body, read once. Calling `return()` on it cancels the response. */
  body(): AsyncIterableIterator<Uint8Array> {
    const next = async (): Promise<IteratorResult<Uint8Array>> => {
      for (;;) {
        const chunk = this.queue.shift();
        if (chunk !== undefined) {
          if (this.queue.length === 0) this.wakeWriter();
          return { done: false, value: chunk };
        }
        if (this.error !== null) throw this.error.reason;
        if (this.ended || this.cancelled) return { done: true, value: undefined };
        await new Promise<void>((resolve) => (this.reader = resolve));
      }
    };
    const it: AsyncIterableIterator<Uint8Array> = {
      next,
      return: async () => {
        this.cancel();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  private wakeReader(): void {
    const r = this.reader;
    this.reader = null;
    r?.();
  }

  private wakeWriter(): void {
    const w = this.writer;
    this.writer = null;
    w?.();
  }
}
