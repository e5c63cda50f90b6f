/**
 * The app end of the onion: any app kind as a `Handler`. A sync app gets its environ (headers
 * normalised as the core does, body collected and spilled like a server) and runs through the
 * core's own sync runner; an async app gets a scope and runs through the core's async runner; a
 * fetch app gets a Request. Their output is read back through a PipeSink, so the response is
 * checked by the same code as on a server, and its body streams in lockstep with the reader.
 * App failures reject (before the status) or make the body throw (after it), so an outer
 * middleware can handle them.
 */
import { PipeSink } from "../bridges/pipe.ts";
import { responseHeaders } from "../bridges/from-fetch.ts";
import type { SyncToAsyncOptions } from "../bridges/sync-to-async.ts";
import { streamBody } from "../bridges/to-fetch.ts";
import { addHeaders, percentDecode, type CgiEnviron } from "../environ.ts";
import { SpecError } from "../headers.ts";
import { collectInput, FileInput, MemoryInput } from "../input.ts";
import { appKind } from "../kind.ts";
import { ResponseWriter, type Log } from "../response.ts";
import { runAsync } from "../run-async.ts";
import { capBody, toRequest, urlSafe } from "../run-fetch.ts";
import { runSync } from "../run-sync.ts";
import { makeEnviron, scopeFromEnviron } from "../scope.ts";
import { type App, type AsyncApp, type ErrorStream, type FetchHandler, type FetchObject, type Header, type SyncApp } from "../spec.ts";
import type { Handler, Req, Res } from "./types.ts";

/** How appHandler runs an app: a sync app as syncToAsync does, plus what a fetch app needs. */
export interface HandlerOptions extends SyncToAsyncOptions {
  /**
   * The URL path a fetch app sees: `"full"` (default) is SCRIPT_NAME + PATH_INFO, as on a
   * server; `"pathInfo"` is PATH_INFO alone, for apps mounted under a prefix (urlMap), since a
   * fetch app has no SCRIPT_NAME to strip.
   */
  fetchPath?: "full" | "pathInfo";
}

/** Composed apps carry their handler, so nesting them costs no conversion. */
export const HANDLER: unique symbol = Symbol.for("tsgi.middleware.handler");

const EMPTY = new Uint8Array(0);
const stderr: ErrorStream = { write: (text) => void process.stderr.write(text) };
const stderrLog: Log = (line) => void process.stderr.write(`tsgi: ${line}\n`);

/** The request's CGI keys, with REQUEST_URI rebuilt if a middleware rewrote the path. */
export function currentEnv(req: Req, pathInfoOnly = false): CgiEnviron {
  const env = syncedEnv(req, pathInfoOnly);
  return env === req.env ? { ...env } : env;
}

/** Like currentEnv, but `req.env` itself (not a copy) when it needs no change. */
function syncedEnv(req: Req, pathInfoOnly: boolean): Readonly<CgiEnviron> {
  const env = req.env;
  const path = pathInfoOnly ? env.PATH_INFO || "/" : env.SCRIPT_NAME + env.PATH_INFO;
  const uri = env.REQUEST_URI;
  const q = uri === undefined ? -1 : uri.indexOf("?");
  const uriPath = uri === undefined ? undefined : q < 0 ? uri : uri.slice(0, q);
  if (uriPath === undefined || uriPath.charCodeAt(0) !== 47 || percentDecode(uriPath) !== path) {
    return { ...env, REQUEST_URI: urlSafe(path.replaceAll("%", "%25").replaceAll("?", "%3F")) + (env.QUERY_STRING ? "?" + env.QUERY_STRING : "") };
  }
  return env;
}

function flat(headers: readonly Header[]): string[] {
  const out: string[] = new Array(headers.length * 2);
  for (let i = 0; i < headers.length; i++) {
    out[2 * i] = headers[i][0];
    out[2 * i + 1] = headers[i][1];
  }
  return out;
}

function announced(cl: string | undefined): number | undefined {
  return cl !== undefined && /^\d{1,15}$/.test(cl) ? Number(cl) : undefined;
}

async function* prepend(head: Uint8Array[], rest: AsyncGenerator<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    for (const c of head) yield c;
    yield* rest;
  } finally {
    await rest.return(undefined); // abandoned while yielding `head`: cancel the stream too
  }
}

/** Any app as the innermost Handler of an onion. */
export function appHandler(app: App, options: HandlerOptions = {}): Handler {
  const own = (app as { [HANDLER]?: Handler })[HANDLER];
  if (own !== undefined) return own;
  const log = options.log ?? stderrLog;
  const maxBody = options.maxBody ?? 1024 ** 3;
  const kind = appKind(app);
  if (kind === "fetch") {
    const f = app as FetchHandler | FetchObject;
    const call = typeof f === "function" ? (r: Request) => f(r) : (r: Request) => f.fetch(r);
    return async (req) => {
      const env = currentEnv(req, options.fetchPath === "pathInfo");
      const host = req.headers.find((h) => h[0] === "host");
      if (host !== undefined) env.HTTP_HOST = host[1];
      const length = announced(req.headers.find((h) => h[0] === "content-length")?.[1]);
      const body = req.body !== null && length !== undefined ? capBody(req.body, length) : req.body;
      const response = await call(toRequest(env, req.headers as Header[], body));
      if (!(response instanceof Response)) {
        throw new SpecError("fetch-response", `a fetch handler must return a Response, got ${response === null ? "null" : typeof response}`);
      }
      const headers = responseHeaders(response);
      if (response.body === null) return { status: response.status, headers, body: [] };
      // One chunk of read-ahead, as the core does for fetch apps: a one-chunk body becomes an
      // array, which goes out with a Content-Length.
      const it = streamBody(response.body);
      const first = await it.next();
      if (first.done) return { status: response.status, headers, body: [] };
      const second = await it.next();
      if (second.done) return { status: response.status, headers, body: [first.value] };
      return { status: response.status, headers, body: prepend([first.value, second.value], it) };
    };
  }
  if (kind === "async") {
    return (req) => {
      const env = currentEnv(req);
      const scope = scopeFromEnviron(env, req.headers as Header[], req.state);
      const pipe = new PipeSink();
      const label = `${env.REQUEST_METHOD} ${env.REQUEST_URI}`;
      const out = new ResponseWriter(pipe, env.REQUEST_METHOD === "HEAD", log, label);
      const expected = announced(req.headers.find((h) => h[0] === "content-length")?.[1]);
      void runAsync(app as AsyncApp, scope, req.body, out, log, label, { expected, maxBody }, (err) => pipe.abort(err));
      return pipe.head.then((h): Res => ({ status: h.status, headers: h.headers, body: pipe.body() }));
    };
  }
  return async (req) => {
    const expected = announced(req.headers.find((h) => h[0] === "content-length")?.[1]);
    const input: MemoryInput | FileInput = req.body === null || expected === 0
      ? new MemoryInput(EMPTY)
      : await collectInput(req.body, { maxBody, spillThreshold: options.spillThreshold ?? 1024 * 1024, expected, tmpDir: options.tmpDir });
    // One new object: tsgi keys, CGI keys, then the headers (copying twice cost more than the app).
    const environ = makeEnviron(syncedEnv(req, false), {
      input,
      errors: options.errors ?? stderr,
      multithread: options.multithread ?? false,
      multiprocess: options.multiprocess ?? false,
      runOnce: options.runOnce ?? false,
    });
    const env = environ as unknown as CgiEnviron;
    addHeaders(env, flat(req.headers));
    if (expected === undefined && input.length > 0) env.CONTENT_LENGTH = String(input.length);
    const pipe = new PipeSink();
    const label = `${env.REQUEST_METHOD} ${env.REQUEST_URI}`;
    const out = new ResponseWriter(pipe, env.REQUEST_METHOD === "HEAD", log, label);
    void runSync(app as SyncApp, environ, out, log, label, (err) => pipe.abort(err)).finally(() => {
      if (input instanceof FileInput) input.dispose();
    });
    const h = await pipe.head;
    return { status: h.status, headers: h.headers, body: pipe.body() };
  };
}
