/**
 * The core's ResponseSink as a CGI response (RFC 3875 §6): `Status:`, the headers, a blank
 * line, the body. Header text is a byte string (one char per byte), written as Latin-1.
 *
 * - `Status:` goes first and always: busybox httpd only recognises it as the very first line,
 *   and an explicit status stops Apache from turning a `Location` reply into a local redirect.
 * - Local redirect (§6.2.2): an app answering 200 with a `Location: /path` asks the server to
 *   serve that path instead; this goes out as the bare `Location` line the RFC defines, with
 *   no other header and no body. Any other status with a Location is a client redirect.
 * - NPH (§5): a full HTTP status line in SERVER_PROTOCOL's version, `Connection: close` (the
 *   script cannot offer keep-alive) and a Date, passed on unmodified by the server.
 */
import { byteStringToBytes } from "../../src/environ.ts";
import type { Header } from "../../src/spec.ts";
import type { ResponseSink } from "../../src/request.ts";
import type { Stdout } from "./stdout.ts";

const encoder = new TextEncoder();

export interface CgiSinkOptions {
  /** Answer as a non-parsed-header script, with this protocol in the status line (`HTTP/1.1`). */
  nph?: string;
}

export class CgiSink implements ResponseSink {
  /** The response could not be completed; the runner exits non-zero. */
  aborted = false;
  /** `end` or `abort` happened. */
  done = false;
  private head: Uint8Array | null = null;
  private discard = false;
  private readonly listeners: (() => void)[] = [];

  constructor(private readonly out: Stdout, private readonly options: CgiSinkOptions = {}) {
    out.onBroken(() => {
      if (this.done) return;
      for (const l of this.listeners.splice(0)) l();
    });
  }

  get closed(): boolean {
    return this.out.broken;
  }

  onClose(listener: () => void): void {
    this.listeners.push(listener);
  }

  start(status: number, reason: string, headers: Header[]): void {
    const nph = this.options.nph;
    let text: string;
    const location = status === 200 && nph === undefined ? localRedirect(headers) : undefined;
    if (location !== undefined) {
      text = `Location: ${location}\r\n\r\n`;
      this.discard = true;
    } else {
      text = nph === undefined ? `Status: ${status} ${reason}\r\n` : `${nph} ${status} ${reason}\r\n`;
      for (let i = 0; i < headers.length; i++) text += `${headers[i][0]}: ${headers[i][1]}\r\n`;
      if (nph !== undefined) text += `Date: ${new Date().toUTCString()}\r\nConnection: close\r\n`;
      text += "\r\n";
    }
    // Held back until the first body bytes or the end, so that small responses are one write.
    this.head = byteStringToBytes(text);
  }

  write(chunk: Uint8Array): void | Promise<void> {
    if (this.discard) return;
    const head = this.head;
    if (head !== null) {
      this.head = null;
      const both = new Uint8Array(head.length + chunk.length);
      both.set(head);
      both.set(chunk, head.length);
      return this.out.write(both);
    }
    return this.out.write(chunk);
  }

  /**
   * A body given as one string (`["text"]`): encoded here rather than by the core's default,
   * Node's Buffer, whose first `Buffer.from` costs Bun ~20 page faults and ~0.3M instructions
   * (~0.3 ms) of a CGI start. The core calls this only when the whole rest of the body is
   * `text`; a write refused for backpressure is still queued, and flushed before exit.
   */
  endWithText(text: string, _byteLength: number): void {
    void this.write(encoder.encode(text));
    this.end();
  }

  end(): void {
    this.done = true;
    this.flushHead();
  }

  abort(reason: unknown): void {
    // Nothing in CGI output can mark a body as truncated; the headers (if still held back)
    // go out so the server sees a response, and the runner exits non-zero after logging.
    void reason;
    this.done = true;
    this.aborted = true;
    this.flushHead();
  }

  private flushHead(): void {
    const head = this.head;
    if (head === null) return;
    this.head = null;
    void this.out.write(head);
  }
}

/** The Location of a 200 response whose only meaningful header is a local path, else undefined. */
function localRedirect(headers: Header[]): string | undefined {
  let location: string | undefined;
  for (let i = 0; i < headers.length; i++) {
    const name = headers[i][0].toLowerCase();
    if (name === "location") location = headers[i][1];
  }
  return location !== undefined && location.startsWith("/") && !location.startsWith("//") ? location : undefined;
}
