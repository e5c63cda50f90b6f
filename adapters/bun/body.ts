/**
 * A request body on Bun, and why tsgi/bun lets it finish arriving before it answers.
 *
 * Bun.serve (1.4) ends a connection that is not kept alive (the request said `Connection:
 * close`, or is HTTP/1.0) with shutdown() and close() straight after the response, whatever of
 * the request body is still unread. Linux answers a close() with unread bytes, or bytes that
 * arrive after it, with a RST; a client still sending the body gets EPIPE or ECONNRESET, and
 * whether it read the response first is a race (node's http client often had not: an early 413
 * for a body over maxBody was lost; strace shows recvfrom 128 KiB of 1 MiB, sendto the 413,
 * shutdown, close). Bun has no lingering close to ask for, so a whole-body Response on such a
 * connection is handed over once the rest of the body has been read and dropped, for at most
 * LINGER_MS (then as before). A kept-alive connection needs nothing: Bun reads the rest itself.
 * Deno.serve keeps reading before it closes; it needs none of this.
 */

/** How long an answer waits for the rest of an unread body (nginx's lingering_timeout is 5 s). */
export const LINGER_MS = 5000;

/** Bun's request body for the core: iterable, with no cancel when the core stops early. */
export class BunBody implements AsyncIterable<Uint8Array> {
  private done = false;

  constructor(private readonly stream: ReadableStream<Uint8Array>) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    const reader = this.stream.getReader();
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) {
          this.done = true;
          return;
        }
        yield r.value;
      }
    } finally {
      // Not cancel(): that would leave the rest unread for good (see above).
      reader.releaseLock();
    }
  }

  /** True while bytes may be left that nobody is reading (not read to the end, not being read). */
  get unread(): boolean {
    return !this.done && !this.stream.locked;
  }

  /** Read and drop what is left, for at most `ms`. */
  async drain(ms: number): Promise<void> {
    if (!this.unread) return;
    const reader = this.stream.getReader();
    const timer = setTimeout(() => void reader.cancel().catch(() => {}), ms);
    try {
      while (!(await reader.read()).done);
      this.done = true;
    } catch {
      // The client went away: nothing left to protect.
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Whether Bun surely keeps the connection after this request (then it reads an unread body
 * itself). Without a `Connection` header this says no: HTTP/1.1 keeps the connection but
 * HTTP/1.0 does not, and Bun's Request does not tell which version came, so the body is
 * drained (at most LINGER_MS, and only when an answer came before the body was read).
 */
export function keptAlive(request: Request): boolean {
  const c = request.headers.get("connection");
  return c !== null && /(?:^|,)\s*keep-alive\s*(?:,|$)/i.test(c);
}

/** `response`, once an unread `body` is drained if Bun would close the connection after it. */
export function afterBody(request: Request, body: BunBody, response: Response): Response | Promise<Response> {
  if (!body.unread || keptAlive(request)) return response;
  return body.drain(LINGER_MS).then(() => response);
}
