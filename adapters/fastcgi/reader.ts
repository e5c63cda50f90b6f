/**
 * Incremental FastCGI record reader. Socket chunks go in; record headers, content pieces and
 * record ends come out, whatever the chunk boundaries. Content is handed on as a range of the
 * chunk (no copy, not even a subarray object: the handler makes one only if it keeps the bytes),
 * so a 64 KiB STDIN record costs no allocation here; padding (0..255 bytes, any length, not just
 * to 8: fcgi-spec §3.3) is skipped.
 */
import { HEADER_LEN } from "./codec.ts";

export interface RecordHandler {
  /**
   * A record header. Return false to stop reading (the handler closed the connection);
   * an empty record's `end` follows at once.
   */
  header(version: number, type: number, requestId: number, contentLength: number): boolean;
  /** Part of the current record's content: `chunk[start..end)`, valid until this call returns unless kept. */
  content(chunk: Uint8Array, start: number, end: number): void;
  /** The current record's content is complete (its padding may still follow). False: stop. */
  end(): boolean;
}

export class RecordReader {
  /** A header split across chunks is assembled here (made on first need). */
  private head: Uint8Array | null = null;
  private headFill = 0;
  private contentLeft = 0;
  private padLeft = 0;
  private inContent = false;

  constructor(private readonly handler: RecordHandler) {}

  /** True while part of a record (header, content or padding) has arrived but not all of it. */
  get midRecord(): boolean {
    return this.headFill > 0 || this.inContent || this.padLeft > 0;
  }

  /** Bytes still expected to finish the current record, for log lines. */
  get missing(): number {
    return this.headFill > 0 ? HEADER_LEN - this.headFill : this.contentLeft + this.padLeft;
  }

  /** Feed one chunk. Returns false if the handler stopped reading. */
  feed(chunk: Uint8Array): boolean {
    const n = chunk.length;
    let off = 0;
    while (off < n) {
      if (this.inContent) {
        const take = Math.min(this.contentLeft, n - off);
        this.handler.content(chunk, off, off + take);
        off += take;
        this.contentLeft -= take;
        if (this.contentLeft === 0) {
          this.inContent = false;
          if (!this.handler.end()) return false;
        }
        continue;
      }
      if (this.padLeft > 0) {
        const skip = Math.min(this.padLeft, n - off);
        this.padLeft -= skip;
        off += skip;
        continue;
      }
      // A header: straight from the chunk when it is all there, else assembled in `head`.
      let h: Uint8Array;
      let at: number;
      if (this.headFill === 0 && n - off >= HEADER_LEN) {
        h = chunk;
        at = off;
        off += HEADER_LEN;
      } else {
        const head = (this.head ??= new Uint8Array(HEADER_LEN));
        const take = Math.min(HEADER_LEN - this.headFill, n - off);
        for (let i = 0; i < take; i++) head[this.headFill + i] = chunk[off + i];
        this.headFill += take;
        off += take;
        if (this.headFill < HEADER_LEN) break;
        this.headFill = 0;
        h = head;
        at = 0;
      }
      const contentLength = (h[at + 4] << 8) | h[at + 5];
      this.padLeft = h[at + 6];
      if (!this.handler.header(h[at], h[at + 1], (h[at + 2] << 8) | h[at + 3], contentLength)) return false;
      if (contentLength === 0) {
        if (!this.handler.end()) return false;
      } else {
        this.contentLeft = contentLength;
        this.inContent = true;
      }
    }
    return true;
  }
}
