/**
 * Standard output for a CGI response. Blocking `writeSync` calls on fd 1 cost nothing at
 * start-up and are the backpressure: the call returns once the server's pipe took the bytes,
 * so exiting right after the last write loses nothing. When the descriptor is non-blocking
 * (EAGAIN), the rest goes through the runtime's stdout stream, waiting for 'drain'.
 *
 * Bun writes through a FileSink (Bun.file(fd).writer()) instead: it costs nothing at start-up,
 * where node:fs costs Bun ~8 ms to load (cgi-run's Bun bundle loads it only on first use).
 */
import { writeSync } from "node:fs";

interface FileSink { write(b: Uint8Array): number | Promise<number>; flush(): number | Promise<number> }
const Bun = (globalThis as { Bun?: { file(fd: number): { writer(): FileSink } } }).Bun;

export class Stdout {
  /** The web server closed its end of the pipe (EPIPE): stop producing. */
  broken = false;
  private stream: NodeJS.WriteStream | null = null;
  private last: Promise<void> | null = null;
  private brokenListener: (() => void) | null = null;
  private sink: FileSink | null = null;

  constructor(private readonly fd = 1) {
    if (Bun !== undefined) this.sink = Bun.file(fd).writer();
  }

  /** Called once when the pipe breaks. */
  onBroken(listener: () => void): void {
    this.brokenListener = listener;
  }

  write(bytes: Uint8Array): void | Promise<void> {
    if (this.broken) return;
    if (this.stream !== null) return this.streamWrite(bytes);
    if (this.sink !== null) return this.sinkWrite(bytes);
    let off = 0;
    while (off < bytes.length) {
      try {
        off += writeSync(this.fd, bytes, off, bytes.length - off);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "EAGAIN" && this.fd === 1) {
          this.stream = process.stdout;
          return this.streamWrite(bytes.subarray(off));
        }
        this.fail();
        if (code === "EPIPE" || code === "ECONNRESET") return;
        throw err;
      }
    }
  }

  /** Resolves once every byte was handed to the operating system. */
  flush(): Promise<void> {
    return this.last ?? Promise.resolve();
  }

  /**
   * Write and flush at once (a FileSink holds small writes back otherwise, and a streamed
   * response must go out as it comes). A promise from either means the pipe is full: wait.
   */
  private sinkWrite(bytes: Uint8Array): Promise<void> | void {
    const sink = this.sink!;
    let pending: Promise<unknown>[] = [];
    try {
      const w = sink.write(bytes);
      const f = sink.flush();
      pending = [w, f].filter((r): r is Promise<number> => typeof r !== "number");
    } catch {
      return this.fail(); // EPIPE: the server closed the pipe
    }
    if (pending.length === 0) return;
    const done = Promise.all(pending).then(() => {}, () => this.fail());
    this.last = done;
    return done;
  }

  private streamWrite(bytes: Uint8Array): Promise<void> {
    const stream = this.stream!;
    const done = new Promise<void>((resolve) => {
      const ok = stream.write(bytes, (err) => {
        if (err) this.fail();
        if (!ok) return; // resolved on drain
        resolve();
      });
      if (!ok) {
        const drained = () => {
          stream.off("drain", drained);
          stream.off("error", drained);
          resolve();
        };
        stream.on("drain", drained);
        stream.on("error", drained);
      }
    });
    this.last = done;
    return done;
  }

  /** The server gave up on the request (it closed the pipe, or sent SIGTERM). */
  fail(): void {
    if (this.broken) return;
    this.broken = true;
    const l = this.brokenListener;
    this.brokenListener = null;
    if (l) l();
  }
}
