/**
 * The in-process test client (`tsgi/testing`): call any app (sync, async or fetch) with a
 * method, path, headers and body, and get status, headers and body back. Requests go through
 * the real Gateway, so the app sees what a server would give it and its response is held to
 * the same rules (status and header checks, Content-Length, HEAD, close()).
 */
import { Gateway, type GatewayOptions } from "../gateway.ts";
import { Lifespan } from "../lifespan.ts";
import type { HttpHead } from "../request.ts";
import type { App, ErrorStream, Header } from "../spec.ts";
import { MemorySink } from "./sink.ts";

/** A request body: text (sent as UTF-8), bytes, or chunks streamed in order. */
export type TestBody = string | Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

export interface TestRequestInit {
  method?: string;
  /** `[name, value]` pairs (repeats kept, in order) or a record. A Host header is added if absent. */
  headers?: Header[] | Record<string, string>;
  body?: TestBody;
  /**
   * Add `Content-Length` for string/bytes bodies (default true). With `false`, or for a
   * streamed body, the request goes as a chunked one would.
   */
  contentLength?: boolean;
  scheme?: "http" | "https";
  httpVersion?: string;
  remoteAddr?: string;
  /** The client leaves after this many body chunks were written (to test disconnects). */
  disconnectAfter?: number;
}

export interface TestResponse {
  status: number;
  reason: string;
  /** As the core sent them: names as given, repeats kept, in order. */
  headers: Header[];
  body: Uint8Array;
  /** The response was aborted (truncated) rather than ended. */
  aborted: boolean;
  /** Values of a header (case-insensitive name) joined with `, `; undefined when absent. */
  header(name: string): string | undefined;
  /** Every value of a header, in order (for Set-Cookie). */
  headerAll(name: string): string[];
  text(): string;
  json<T = unknown>(): T;
}

export interface TestClientOptions extends GatewayOptions {
  /** Host header for requests that give none. Default `testserver`. */
  host?: string;
}

const encoder = new TextEncoder();

export class TestClient {
  readonly gateway: Gateway;
  /** The gateway's diagnostic lines (errors, limits), instead of stderr. */
  readonly logs: string[] = [];
  /** What the app wrote to `tsgi.errors`. */
  errorsText = "";
  private readonly host: string;
  private lifespan: Lifespan | null = null;

  constructor(readonly app: App, options: TestClientOptions = {}) {
    const errors: ErrorStream = { write: (t) => void (this.errorsText += t) };
    this.host = options.host ?? "testserver";
    this.gateway = new Gateway(app, { errors, log: (line) => void this.logs.push(line), ...options });
  }

  /** Run the app's lifespan startup (async apps); request scopes then carry its state. */
  async startup(): Promise<void> {
    this.lifespan = new Lifespan(this.app, (line) => void this.logs.push(line));
    await this.lifespan.startup();
    this.gateway.state = this.lifespan.state;
  }

  async shutdown(): Promise<void> {
    await this.lifespan?.shutdown();
  }

  async request(path: string, init: TestRequestInit = {}): Promise<TestResponse> {
    const raw: string[] = [];
    const given = init.headers ?? [];
    for (const [name, value] of Array.isArray(given) ? given : Object.entries(given)) raw.push(name, value);
    if (!raw.some((v, i) => i % 2 === 0 && v.toLowerCase() === "host")) raw.unshift("Host", this.host);
    let body: AsyncIterable<Uint8Array> | null = null;
    const b = init.body;
    if (typeof b === "string" || b instanceof Uint8Array) {
      const bytes = typeof b === "string" ? encoder.encode(b) : b;
      if (init.contentLength !== false && !raw.some((v, i) => i % 2 === 0 && v.toLowerCase() === "content-length")) {
        raw.push("Content-Length", String(bytes.length));
      }
      body = bytes.length > 0 ? once(bytes) : null;
    } else if (b !== undefined) {
      body = toAsync(b);
    }
    const scheme = init.scheme ?? "http";
    const head: HttpHead = {
      method: init.method ?? "GET",
      target: path,
      rawHeaders: raw,
      httpVersion: init.httpVersion ?? "1.1",
      scheme,
      serverName: "127.0.0.1",
      serverPort: scheme === "https" ? "443" : "80",
      remoteAddr: init.remoteAddr ?? "127.0.0.1",
      remotePort: "40000",
    };
    const sink = new MemorySink();
    if (init.disconnectAfter !== undefined) sink.disconnectAfter = init.disconnectAfter;
    await this.gateway.handleHttp(head, body, sink);
    return response(sink);
  }

  get(path: string, init: TestRequestInit = {}): Promise<TestResponse> {
    return this.request(path, { ...init, method: "GET" });
  }
  head(path: string, init: TestRequestInit = {}): Promise<TestResponse> {
    return this.request(path, { ...init, method: "HEAD" });
  }
  post(path: string, init: TestRequestInit = {}): Promise<TestResponse> {
    return this.request(path, { ...init, method: "POST" });
  }
  put(path: string, init: TestRequestInit = {}): Promise<TestResponse> {
    return this.request(path, { ...init, method: "PUT" });
  }
  delete(path: string, init: TestRequestInit = {}): Promise<TestResponse> {
    return this.request(path, { ...init, method: "DELETE" });
  }
}

/** One request to `app` with a throwaway client. */
export function request(app: App, path: string, init: TestRequestInit = {}, options: TestClientOptions = {}): Promise<TestResponse> {
  return new TestClient(app, options).request(path, init);
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

async function* toAsync(chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const c of chunks) yield c;
}

function response(sink: MemorySink): TestResponse {
  const body = sink.body();
  const all = (name: string) => {
    const lower = name.toLowerCase();
    return sink.headers.filter((h) => h[0].toLowerCase() === lower).map((h) => h[1]);
  };
  return {
    status: sink.status,
    reason: sink.reason,
    headers: sink.headers,
    body,
    aborted: sink.aborted !== null,
    header: (name) => {
      const v = all(name);
      return v.length === 0 ? undefined : v.join(", ");
    },
    headerAll: all,
    text: () => new TextDecoder().decode(body),
    json: <T>() => JSON.parse(new TextDecoder().decode(body)) as T,
  };
}
