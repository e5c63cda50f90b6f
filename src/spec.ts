/**
 * The public types of tsgi 1.0 (SPEC.md). Everything a framework or server author needs to
 * conform is declared here; the prose rules live in SPEC.md and are enforced by `lint`.
 *
 * String conventions, chosen once for the whole spec:
 * - environ values taken from the wire (paths, query, header values) are *byte strings*:
 *   each char is one byte (U+0000..U+00FF, i.e. Latin-1), exactly as PEP 3333 does it.
 *   This is lossless for any byte sequence, costs nothing to build from Node's
 *   `latin1` decoding, and matches what Fetch's `Headers` calls a ByteString.
 *   `decodeUtf8(s)` in the core turns one into text when the app wants it.
 * - Bodies are always `Uint8Array`; apps may also give `string` chunks, sent as UTF-8.
 */

/** The spec version this module implements, as `tsgi.version` carries it. */
export const TSGI_VERSION: readonly [1, 0] = [1, 0];

/** A response body chunk: bytes, or text that the server encodes as UTF-8. */
export type Chunk = Uint8Array | string;

/** A response header: `[name, value]`; repeated names are separate entries, in order. */
export type Header = [name: string, value: string];

// ---------------------------------------------------------------------------------------------
// Sync variant (the WSGI analog)
// ---------------------------------------------------------------------------------------------

/** `tsgi.input`: the request body, read synchronously (the server has it all before the call). */
export interface InputStream {
  /** Up to `size` bytes (all the rest if omitted or negative); an empty array at end of body. */
  read(size?: number): Uint8Array;
  /** Bytes up to and including the next `\n` (or up to `limit` bytes); empty at end of body. */
  readLine(limit?: number): Uint8Array;
  /** Move the read position (bytes from the start); the body is always seekable in tsgi. */
  seek(position: number): void;
  /** The body's length in bytes. */
  readonly length: number;
  /** Iterate the body line by line, as Python's file objects do. */
  [Symbol.iterator](): Iterator<Uint8Array>;
}

/** `tsgi.errors`: where an app writes diagnostics; the server routes them to its error log. */
export interface ErrorStream {
  write(text: string): void;
  flush?(): void;
}

/** The keys every server puts in environ besides the CGI meta-variables. */
export interface TsgiKeys {
  "tsgi.version": readonly [number, number];
  "tsgi.url_scheme": "http" | "https";
  "tsgi.input": InputStream;
  "tsgi.errors": ErrorStream;
  "tsgi.multithread": boolean;
  "tsgi.multiprocess": boolean;
  "tsgi.run_once": boolean;
}

/** The CGI meta-variables (RFC 3875 §4.1) that every environ holds. */
export interface CgiKeys {
  REQUEST_METHOD: string;
  /** The mount point, `""` at the root; never ends with `/`. Byte string, percent-decoded. */
  SCRIPT_NAME: string;
  /** The rest of the path, `""` or starting with `/`. Byte string, percent-decoded. */
  PATH_INFO: string;
  /** Raw, still percent-encoded; `""` when the target had no `?`. */
  QUERY_STRING: string;
  SERVER_NAME: string;
  SERVER_PORT: string;
  /** `HTTP/1.0`, `HTTP/1.1` or `HTTP/2`. */
  SERVER_PROTOCOL: string;
  CONTENT_TYPE?: string;
  CONTENT_LENGTH?: string;
  REMOTE_ADDR?: string;
  REMOTE_PORT?: string;
  /** Raw request target (path and query) as the client sent it, still percent-encoded. */
  REQUEST_URI: string;
  /** `"on"` when the request came over TLS (absent otherwise). */
  HTTPS?: string;
  /** Optional RFC 3875 keys that CGI-speaking front servers pass along. */
  AUTH_TYPE?: string;
  REMOTE_USER?: string;
  REMOTE_HOST?: string;
  REMOTE_IDENT?: string;
  PATH_TRANSLATED?: string;
  GATEWAY_INTERFACE?: string;
  SERVER_SOFTWARE?: string;
  SCRIPT_FILENAME?: string;
  DOCUMENT_ROOT?: string;
  REQUEST_SCHEME?: string;
  /** Request headers: `Foo-Bar: x` is `HTTP_FOO_BAR`; repeats joined by `, ` (Cookie: `; `). */
  [header: `HTTP_${string}`]: string | undefined;
}

/**
 * The sync app's one argument besides `startResponse`. `HTTP_*` keys hold request headers;
 * servers and middleware may add their own keys, namespaced with a dot (`myserver.x`).
 */
export type Environ = CgiKeys & TsgiKeys & { [key: string]: unknown };

/** What `startResponse` returns: the legacy imperative body writer (PEP 3333 `write`). */
export type WriteFn = (chunk: Chunk) => void;

/** Error information handed to a second `startResponse` call from an error handler. */
export type ExcInfo = unknown;

/**
 * Begin the response. `status` is `"NNN Reason"`; headers are `[name, value]` pairs.
 * A second call is only allowed with `excInfo` and only before the headers went out;
 * after that, `excInfo` is rethrown.
 */
export type StartResponse = (status: string, headers: Header[], excInfo?: ExcInfo) => WriteFn;

/** The body a sync app returns. An optional `close()` is called exactly once by the server. */
export type ResponseBody = (Iterable<Chunk> | AsyncIterable<Chunk>) & { close?: () => void };

/** Sync (WSGI-style) app: `app(environ, startResponse)` returns an iterable of chunks. */
export type SyncApp = (environ: Environ, startResponse: StartResponse) => ResponseBody;

// ---------------------------------------------------------------------------------------------
// Async variant (the ASGI analog)
// ---------------------------------------------------------------------------------------------

/** Fields shared by every scope. */
export interface ScopeBase {
  tsgi: { version: string; spec_version: string };
  /** Per-app state filled during lifespan startup; shallow-copied into each request scope. */
  state?: Record<string, unknown>;
}

/**
 * The `http` scope. Strings are used for everything textual and for raw byte fields too
 * (as byte strings, one char per byte): converting every header to `Uint8Array` would cost
 * an allocation per header on every request for no gain in JS. Bodies are `Uint8Array`.
 */
export interface HttpScope extends ScopeBase {
  type: "http";
  /** `"1.0"`, `"1.1"` or `"2"`. */
  http_version: string;
  /** Upper-case method. */
  method: string;
  scheme: "http" | "https";
  /**
   * The whole percent-decoded path, `root_path` included (as in ASGI), decoded as UTF-8 text
   * (unlike environ's byte strings). Route on `path.slice(root_path.length)`.
   */
  path: string;
  /** The path as sent, still percent-encoded (byte string). */
  raw_path: string;
  /** The raw query string without `?` (byte string). */
  query_string: string;
  /** The mount point, `""` at the root. */
  root_path: string;
  /** Lower-case names, byte-string values, in the order received; repeats are kept. */
  headers: Header[];
  client: [host: string, port: number] | null;
  server: [host: string, port: number | null] | null;
  /** `extensions.environ` holds the CGI view of the same request (REQUEST_URI, SERVER_*, ...). */
  extensions: { environ: Record<string, string>; [name: string]: unknown };
}

/** The `lifespan` scope: one per server process, before the first request and at shutdown. */
export interface LifespanScope extends ScopeBase {
  type: "lifespan";
}

export type Scope = HttpScope | LifespanScope;

export interface HttpRequestEvent {
  type: "http.request";
  body: Uint8Array;
  /** `true` while more body follows; the last event has `false`. */
  more_body: boolean;
}
export interface HttpDisconnectEvent {
  type: "http.disconnect";
}
export interface LifespanStartupEvent {
  type: "lifespan.startup";
}
export interface LifespanShutdownEvent {
  type: "lifespan.shutdown";
}
export type ReceiveEvent =
  | HttpRequestEvent
  | HttpDisconnectEvent
  | LifespanStartupEvent
  | LifespanShutdownEvent;

export interface HttpResponseStartEvent {
  type: "http.response.start";
  /** Integer status; the server supplies the reason phrase. */
  status: number;
  headers?: Header[];
  trailers?: boolean;
}
export interface HttpResponseBodyEvent {
  type: "http.response.body";
  body?: Chunk;
  more_body?: boolean;
}
export interface LifespanResultEvent {
  type:
    | "lifespan.startup.complete"
    | "lifespan.startup.failed"
    | "lifespan.shutdown.complete"
    | "lifespan.shutdown.failed";
  message?: string;
}
export type SendEvent = HttpResponseStartEvent | HttpResponseBodyEvent | LifespanResultEvent;

export type Receive = () => Promise<ReceiveEvent>;
export type Send = (event: SendEvent) => Promise<void>;

/** Async (ASGI-style) app. */
export type AsyncApp = (scope: Scope, receive: Receive, send: Send) => Promise<void>;

// ---------------------------------------------------------------------------------------------
// Fetch-style apps, and how a server tells the three kinds apart
// ---------------------------------------------------------------------------------------------

/** A WHATWG fetch handler, `(Request) => Response`. */
export type FetchHandler = (request: Request, ...rest: never[]) => Response | Promise<Response>;

/** An object with a `fetch` method, such as a Hono app or a Bun/Deno `export default`. */
export interface FetchObject {
  fetch(request: Request, ...rest: never[]): Response | Promise<Response>;
}

/** Any app a tsgi server accepts with no wrapper. */
export type App = SyncApp | AsyncApp | FetchHandler | FetchObject;

export type AppKind = "sync" | "async" | "fetch";

/**
 * Optional explicit marker. A function carrying `tsgi: "sync" | "async" | "fetch"` is taken at
 * its word; otherwise the server decides by `Function.length` (see `appKind`).
 */
export interface MarkedApp {
  tsgi?: AppKind;
}
