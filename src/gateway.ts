/**
 * The core's one entry point. Every adapter builds a request description, hands it to
 * `Gateway.handle*` with a body source and a response sink, and the gateway does the rest:
 * environ or scope, the right app kind, the spec's response rules, errors and limits.
 */
import { environFromHttp, environFromParams, headersFromEnviron, normalizeMount, type CgiEnviron, type EnvironOptions } from "./environ.ts";
import { BodyIncomplete, BodyTooLarge, collectInput, FileInput, limitBody, MemoryInput } from "./input.ts";
import { appKind } from "./kind.ts";
import type { BodySource, CgiParams, HttpHead, ResponseSink } from "./request.ts";
import { DONE, ResponseWriter, sendText, type Log } from "./response.ts";
import { runAsync } from "./run-async.ts";
import { capBody, runFetch } from "./run-fetch.ts";
import { runSync } from "./run-sync.ts";
import { scopeFromEnviron } from "./scope.ts";
import { TSGI_VERSION, type App, type AppKind, type AsyncApp, type Environ, type ErrorStream, type FetchHandler, type FetchObject, type Header, type HttpScope, type SyncApp } from "./spec.ts";

export interface GatewayOptions {
  /** Largest request body accepted, in bytes; larger ones get 413 before any is buffered. Default 1 GiB. */
  maxBody?: number;
  /** Sync apps' bodies above this many bytes are kept in a temp file. Default 1 MiB. */
  spillThreshold?: number;
  /** Directory for spilled bodies. Default: the OS temp dir. */
  tmpDir?: string;
  /** Mount point (SCRIPT_NAME) of the app; see EnvironOptions.mount. */
  mount?: string;
  /** Server diagnostics, one line each. Default: stderr. */
  log?: Log;
  /** Where `tsgi.errors` writes. Default: stderr. */
  errors?: ErrorStream;
  multithread?: boolean;
  multiprocess?: boolean;
  runOnce?: boolean;
  /** Lifespan state, shallow-copied into each async request's scope. */
  state?: Record<string, unknown>;
}

const stderrStream: ErrorStream = {
  write(text: string) {
    process.stderr.write(text);
  },
};

const defaultLog: Log = (line) => process.stderr.write(`tsgi: ${line}\n`);

export class Gateway {
  readonly kind: AppKind;
  readonly mount: string | undefined;
  readonly log: Log;
  state: Record<string, unknown> | undefined;
  /** Largest request body accepted, in bytes (adapters that bound bodies themselves read it). */
  readonly maxBody: number;
  private readonly spillThreshold: number;
  private readonly tmpDir: string | undefined;
  private readonly errors: ErrorStream;
  private readonly flags: [boolean, boolean, boolean];
  /** One options object for every request's environ, not one per request. */
  private readonly environOptions: EnvironOptions;

  constructor(readonly app: App, options: GatewayOptions = {}) {
    this.kind = appKind(app);
    this.mount = options.mount === undefined ? undefined : normalizeMount(options.mount);
    this.log = options.log ?? defaultLog;
    this.maxBody = options.maxBody ?? 1024 ** 3;
    this.spillThreshold = options.spillThreshold ?? 1024 * 1024;
    this.tmpDir = options.tmpDir;
    this.errors = options.errors ?? stderrStream;
    this.flags = [options.multithread ?? false, options.multiprocess ?? false, options.runOnce ?? false];
    this.state = options.state;
    this.environOptions = { mount: this.mount };
  }

  /** Serve a request that arrived as HTTP (node:http, Bun, Deno). */
  handleHttp(head: HttpHead, body: BodySource, sink: ResponseSink, context?: unknown): Promise<void> {
    const env = environFromHttp(head, this.environOptions);
    return this.handle(env, head.rawHeaders, body, sink, context);
  }

  /** Serve a request that arrived as CGI meta-variables (CGI, FastCGI, uwsgi). */
  handleParams(params: CgiParams, body: BodySource, sink: ResponseSink, context?: unknown): Promise<void> {
    return this.handle(environFromParams(params, this.environOptions), null, body, sink, context);
  }

  /**
   * Serve a request from already-normalised CGI keys. `rawHeaders` (flat name/value list) keeps
   * the original header order for async and fetch apps; without it they are rebuilt from HTTP_*.
   */
  handle(env: CgiEnviron, rawHeaders: string[] | null, body: BodySource, sink: ResponseSink, context?: unknown): Promise<void> {
    const label = `${env.REQUEST_METHOD} ${env.REQUEST_URI ?? env.PATH_INFO}`;
    const out = new ResponseWriter(sink, env.REQUEST_METHOD === "HEAD", this.log, label);
    const cl = env.CONTENT_LENGTH;
    let expected: number | undefined;
    if (cl !== undefined) {
      if (!/^\d{1,15}$/.test(cl)) {
        this.log(`${label}: Content-Length ${JSON.stringify(cl)} is not a number; answered 400`);
        sendText(sink, 400, "Bad Request", "Content-Length is not a number\n", env.REQUEST_METHOD === "HEAD");
        return DONE;
      }
      expected = Number(cl);
      if (expected > this.maxBody) {
        this.log(`${label}: Content-Length ${expected} exceeds the limit of ${this.maxBody} bytes; answered 413`);
        sendText(sink, 413, "Content Too Large", `request body exceeds the limit of ${this.maxBody} bytes\n`, env.REQUEST_METHOD === "HEAD");
        return DONE;
      }
    }
    if (this.kind === "sync") {
      // No body: straight to the app, with no promise on the way (the hot path).
      if (body === null || expected === 0) return runSync(this.app as SyncApp, this.environ(env, EMPTY_INPUT, sink.errors), out, this.log, label);
      return this.serveSync(env, body, expected, out, label);
    }
    const headers = rawHeaders === null ? headersFromEnviron(env) : pairs(rawHeaders);
    if (body !== null && expected === undefined) body = limitBody(body, this.maxBody);
    if (this.kind === "async") {
      return runAsync(this.app as AsyncApp, this.scope(env, headers), body, out, this.log, label, { expected, maxBody: this.maxBody });
    }
    if (body !== null && expected !== undefined) body = capBody(body, expected);
    return runFetch(this.app as FetchHandler | FetchObject, env, headers, body, context ?? this.environ(env, new MemoryInput(new Uint8Array(0)), sink.errors), out, this.log, label);
  }

  private async serveSync(env: CgiEnviron, body: AsyncIterable<Uint8Array>, expected: number | undefined, out: ResponseWriter, label: string): Promise<void> {
    let input: MemoryInput | FileInput;
    {
      try {
        input = await collectInput(body, { maxBody: this.maxBody, spillThreshold: this.spillThreshold, expected, tmpDir: this.tmpDir });
      } catch (err) {
        if (out.sink.closed) return;
        if (err instanceof BodyTooLarge) {
          this.log(`${label}: ${err.message}; answered 413`);
          return out.fail(413, "Content Too Large", err.message + "\n");
        }
        this.log(`${label}: ${err instanceof BodyIncomplete ? err.message : "reading the request body failed: " + String(err)}; answered 400`);
        return out.fail(400, "Bad Request", "incomplete request body\n");
      }
    }
    // A body sent without Content-Length (chunked) is whole now: say how long it is, so apps
    // that read CONTENT_LENGTH bytes (as PEP 3333 tells them to) see all of it.
    if (expected === undefined && input.length > 0) env.CONTENT_LENGTH = String(input.length);
    try {
      await runSync(this.app as SyncApp, this.environ(env, input, out.sink.errors), out, this.log, label);
    } finally {
      if (input instanceof FileInput) input.dispose();
    }
  }

  /** Add the `tsgi.*` keys to CGI keys (in place: the object is the request's own). */
  environ(env: CgiEnviron, input: MemoryInput | FileInput, errors: ErrorStream = this.errors): Environ {
    const e = env as unknown as Environ;
    e["tsgi.version"] = TSGI_VERSION;
    e["tsgi.url_scheme"] = env.HTTPS === "on" ? "https" : "http";
    // The shared empty input has no state to leak between requests: reads and seeks stay at 0.
    e["tsgi.input"] = input;
    e["tsgi.errors"] = errors;
    e["tsgi.multithread"] = this.flags[0];
    e["tsgi.multiprocess"] = this.flags[1];
    e["tsgi.run_once"] = this.flags[2];
    return e;
  }

  /** The async app's `http` scope for a request. */
  scope(env: CgiEnviron, headers: Header[]): HttpScope {
    return scopeFromEnviron(env, headers, this.state);
  }
}

const EMPTY_BYTES = new Uint8Array(0);
const EMPTY_INPUT = new MemoryInput(EMPTY_BYTES);

/** Flat raw headers → lower-case `[name, value]` pairs. */
function pairs(raw: string[]): Header[] {
  const out: Header[] = new Array(raw.length >> 1);
  for (let i = 0; i < raw.length; i += 2) out[i >> 1] = [raw[i].toLowerCase(), raw[i + 1]];
  return out;
}
