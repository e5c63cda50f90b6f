/**
 * A request's STDIN stream as the core's pull-based body source. Records' content arrives as
 * subarrays of socket chunks (no copy); when more than HIGH_WATER bytes wait unread, the
 * connection stops reading its socket until the app catches up (FastCGI has no per-request
 * flow control, so pausing the socket is the only backpressure there is: protocols.md §1.6).
 */

/** Bytes queued for one request before the socket is paused. */
export const HIGH_WATER = 256 * 1024;
/** Bytes left in the queue at which reading resumes. */
export const LOW_WATER = 64 * 1024;

/** What the body tells its connection about backpressure. */
export interface Flow {
  pause(): void;
  resume(): void;
}

const DONE: IteratorResult<Uint8Array> = { done: true, value: undefined };

export class StdinBody implements AsyncIterable<Uint8Array>, AsyncIterator<Uint8Array> {
  /** Bytes received so far, whether or not the app read them. */
  received = 0;
  /** The empty STDIN record arrived. */
  ended = false;
  private chunks: Uint8Array[] = [];
  private head = 0;
  private queued = 0;
  private paused = false;
  private discarding = false;
  private failure: Error | null = null;
  private waiter: ((r: IteratorResult<Uint8Array>) => void) | null = null;
  private rejecter: ((e: Error) => void) | null = null;

  constructor(private readonly flow: Flow) {}

  /** STDIN content from the peer. */
  push(piece: Uint8Array): void {
    this.received += piece.length;
    if (this.discarding) return;
    if (this.waiter !== null) {
      const w = this.waiter;
      this.waiter = this.rejecter = null;
      w({ done: false, value: piece });
      return;
    }
    this.chunks.push(piece);
    this.queued += piece.length;
    if (!this.paused && this.queued > HIGH_WATER) {
      this.paused = true;
      this.flow.pause();
    }
  }

  /** The empty STDIN record: the body is complete. */
  end(): void {
    this.ended = true;
    if (this.waiter !== null && this.head === this.chunks.length) {
      const w = this.waiter;
      this.waiter = this.rejecter = null;
      w(DONE);
    }
  }

  /** The peer went away (connection closed, ABORT_REQUEST) before the body ended. */
  fail(err: Error): void {
    if (this.ended) return;
    this.failure = err;
    if (this.rejecter !== null) {
      const r = this.rejecter;
      this.waiter = this.rejecter = null;
      r(err);
    }
    this.discard();
  }

  /** Drop what is queued and whatever still arrives (the response is done; drain, don't keep). */
  discard(): void {
    this.discarding = true;
    if (this.waiter !== null) {
      const w = this.waiter;
      this.waiter = this.rejecter = null;
      w(DONE);
    }
    this.chunks = [];
    this.head = 0;
    this.queued = 0;
    if (this.paused) {
      this.paused = false;
      this.flow.resume();
    }
  }

  /** Every chunk received, when the body ended before the app started (nothing read yet). */
  all(): Uint8Array[] {
    return this.head === 0 ? this.chunks : this.chunks.slice(this.head);
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.head < this.chunks.length) {
      const value = this.chunks[this.head];
      this.chunks[this.head++] = EMPTY;
      if (this.head === this.chunks.length) {
        this.chunks.length = 0;
        this.head = 0;
      }
      this.queued -= value.length;
      if (this.paused && this.queued <= LOW_WATER) {
        this.paused = false;
        this.flow.resume();
      }
      return Promise.resolve({ done: false, value });
    }
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.ended || this.discarding) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.rejecter = reject;
    });
  }

  /** The consumer stopped early (e.g. the body was over the limit): drain the rest. */
  return(): Promise<IteratorResult<Uint8Array>> {
    this.discard();
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this;
  }
}

const EMPTY = new Uint8Array(0);
