/**
 * The protocol-neutral request description every adapter hands to the core, and the response
 * sink the core drives. Codecs know bytes; the core knows apps; these two types are the seam.
 */
import type { ErrorStream, Header } from "./spec.ts";

/**
 * A request as an HTTP-speaking adapter sees it (node:http, Bun, Deno, Hono): a request line
 * and header list. All strings are byte strings (one char per byte).
 */
export interface HttpHead {
  method: string;
  /** The raw request target, e.g. `/a%20b?x=1` (origin-form), or absolute-form. */
  target: string;
  /** Flat `[name, value, name, value, ...]` as received (Node's `rawHeaders` shape). */
  rawHeaders: string[];
  /** `"1.0"`, `"1.1"` or `"2"`. */
  httpVersion: string;
  scheme: "http" | "https";
  /** The listener's address, used when the request has no Host header. */
  serverName: string;
  serverPort: string;
  remoteAddr?: string;
  remotePort?: string;
}

/** A request as a gateway protocol carries it (CGI, FastCGI, uwsgi): CGI meta-variables. */
export type CgiParams = Record<string, string>;

/**
 * The request body as the core consumes it: an async iterable of byte chunks, pulled so that
 * a codec can apply backpressure (it stops reading its socket until the next pull).
 * `null` means "no body" and saves a stream per GET. A chunk belongs to the core once
 * yielded: the codec must not reuse its memory (the core may keep it until the response ends).
 */
export type BodySource = AsyncIterable<Uint8Array> | null;

/**
 * Where the core writes the response. A sink implements one protocol's framing; the core
 * guarantees the call order: `start` once, `write` zero or more times, then `end` or `abort`.
 */
export interface ResponseSink {
  /**
   * Send the status and headers. `headers` were validated by the core. When the core knows the
   * body length in advance it has already added `Content-Length`.
   */
  start(status: number, reason: string, headers: Header[]): void;
  /**
   * Send body bytes. Return a promise when the peer is slow; the core waits for it before
   * producing more, which is how backpressure reaches apps.
   */
  write(chunk: Uint8Array): void | Promise<void>;
  /** The response is complete. */
  end(): void;
  /**
   * Optional: send `chunk` as the last body bytes and end, in one step. The core calls it
   * instead of `write` + `end` when the whole body is one chunk it already holds (a one-element
   * array body, a single final `http.response.body`), so a sink can put head and body in one
   * socket write.
   */
  endWith?(chunk: Uint8Array): void;
  /**
   * Optional: as `endWith`, for a body the app gave as one string: `text` encoded as UTF-8 is
   * the whole rest of the body, `byteLength` bytes long. Lets a sink whose runtime writes
   * strings natively (node:http) skip encoding the string to bytes first.
   */
  endWithText?(text: string, byteLength: number): void;
  /**
   * The response cannot be completed (the app failed after headers went out, or broke its own
   * Content-Length). The sink must make the truncation visible to the peer, e.g. by closing
   * the connection without a terminating chunk.
   */
  abort(reason: unknown): void;
  // The core also calls `abort` (never `end`) when the peer went away mid-response, so every
  // response ends with exactly one `end` or `abort` and a sink can always release its resources.
  /** True once the peer has gone away; the core stops producing. */
  readonly closed: boolean;
  /** Call `listener` once when the peer goes away before `end`. */
  onClose(listener: () => void): void;
  /**
   * This request's own error channel, when the protocol has one (FastCGI STDERR records, which
   * the front server writes to its error log). Used as `tsgi.errors` instead of the gateway's.
   */
  readonly errors?: ErrorStream;
}
