/**
 * Standard output for a CGI response. Blocking `writeSync` calls on fd 1 cost nothing at
 * start-up and are the backpressure: the call returns once the server's pipe took the bytes,
 * so exiting right after the last write loses nothing. When the descriptor is non-blocking
 * (EAGAIN), the rest goes through the runtime's stdout stream, waiting for 'drain'.
 */
import { writeSync } from "node:fs";

export class Stdout {
  /** The web server closed its end of the pipe (EPIPE): stop producing. */
  broken = false;
  private stream: NodeJS.WriteStream | null = null;
  private last: Promise<void> | null = null;
  private brokenListener: (() => void) | null = null;

  constructor(private readonly fd = 1) {}

  /** Called once when the pipe breaks. */
  onBroken(listener: () => void): void {
    this.brokenListener = listener;
  }

  write(bytes: Uint8Array): void | Promise<void> {
    if (this.broken) return;
    if (this.stream !== null) return this.streamWrite(bytes);
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
