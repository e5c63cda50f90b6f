/**
 * tsgi on Bun.serve: TCP or unix socket, request bodies streamed from Bun's ReadableStream,
 * responses as a Response (plain bytes when complete, else a pull-based stream), disconnects
 * seen through `request.signal`, graceful stop through `server.stop()`.
 */
import { chmodSync } from "node:fs";
import { environFromHttp, formatTarget, serveWith, type App, type CgiEnviron, type Gateway, type HttpHead, type Listener, type ListenTarget, type RunningServer, type ServeOptions } from "../../src/index.ts";
import { logged } from "../web/access-log.ts";
import { bodyOf, headOf, type Endpoints } from "../web/request.ts";
import { afterBody, BunBody } from "./body.ts";
import { peerOnDemand } from "../web/peer.ts";
import { lazyEnviron, type HeadMaker } from "../web/lazy-environ.ts";
import { callApp, canPassThrough, passThrough } from "../web/native-fetch.ts";
import { internalError, isAbort, RuntimeSink, type FetchSinkOptions } from "../web/sink.ts";
import { bunGlobal, type BunServer } from "./types.ts";
import { closeWithin } from "../../src/listener.ts";
import { bindTo } from "../../src/bind.ts";
import { watchOpenFiles } from "../../src/open-files.ts";

/** Bun.serve writes Content-Length and the reason phrase itself (see FetchSinkOptions). */
const BUN_SINK: FetchSinkOptions = { framed: true };

export interface BunListenOptions {
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: string | Uint8Array; key: string | Uint8Array };
  /** One combined-format line per request (written when the response starts). */
  accessLog?: (line: string) => void;
  /** File mode for a unix socket (e.g. 0o660). */
  socketMode?: number;
  /**
   * Hand fetch-style apps the runtime's own Request and send their Response as is (see
   * native-fetch.ts). Default true; false sends every request through the core's fetch runner.
   */
  nativeFetch?: boolean;
  /** Seconds a connection may stay silent before Bun closes it (Bun's default: 10; 0: never; at most 255). */
  idleTimeout?: number;
  /** `tsgi serve --timeout`: the same as idleTimeout, used when idleTimeout is not given. */
  timeout?: number;
  /** Request bodies above this size are refused by Bun itself; default: no Bun-side limit below the Gateway's maxBody. */
  maxRequestBodySize?: number;
}

/** The runtime's limits, said plainly: Bun.serve takes a port or a unix socket path, nothing else. */
export function unsupportedTarget(target: ListenTarget): Error {
  return new Error(
    `cannot listen on http://fd:${"fd" in target ? target.fd : "?"}: Bun cannot serve HTTP on an inherited socket: Bun.serve has ` +
      `no fd option, and Bun's node:http ignores listen({fd}) and binds a random port instead (oven-sh/bun#22559). ` +
      `Give --http HOST:PORT or a socket path, or run tsgi under Node or Deno for socket activation.`,
  );
}

/** Start one HTTP listener for `gateway` on Bun. */
export async function listen(gateway: Gateway, target: ListenTarget, options: BunListenOptions = {}): Promise<Listener> {
  const Bun = bunGlobal();
  if (Bun === null) throw new Error("tsgi/bun runs on Bun only; on Node use tsgi/node, on Deno tsgi/deno");
  if ("fd" in target) throw unsupportedTarget(target);
  const idleTimeout = options.idleTimeout ?? options.timeout ?? 10;
  // The message names what the caller gave: the option (tsgi/bun's listen) or the CLI flag.
  if (idleTimeout > 255) throw new Error(`${options.idleTimeout !== undefined ? "idleTimeout" : "--timeout"} ${idleTimeout}: Bun.serve closes silent connections after at most 255 s; give 255 or less (0: never)`);
  const unix = "path" in target;
  let server: BunServer;
  const passFetch = options.nativeFetch !== false && gateway.kind === "fetch";
  const local: Endpoints = unix ? { serverName: "localhost", serverPort: "" } : { serverName: target.host, serverPort: String(target.port) };

  const scheme = options.tls ? "https" : "http";
  const accessLog = options.accessLog;

  const heads: HeadMaker<BunServer> = {
    head(request, srv) {
      const ip = unix ? null : srv.requestIP(request);
      const at: Endpoints = ip === null ? local : {
        serverName: local.serverName,
        serverPort: local.serverPort,
        remoteAddr: ip.address,
        remotePort: String(ip.port),
      };
      return headOf(request, at, scheme);
    },
  };

  const bunPeer = (request: Request) => server.requestIP(request);
  const envOptions = { mount: gateway.mount };

  const handle = (request: Request, srv: BunServer): Response | Promise<Response> => {
    if (accessLog) {
      const head = heads.head(request, srv);
      const t0 = performance.now();
      return logged(respond(request, head), head, request, t0, accessLog);
    }
    // A fetch app gets its environ built only if it reads it (lazy-environ.ts).
    if (passFetch && canPassThrough(gateway, request)) return callApp(gateway, request, lazyEnviron(gateway, request, heads, srv));
    const head = headOf(request, local, scheme);
    const env = environFromHttp(head, envOptions);
    // The peer address is asked of Bun only if the app reads it (peer.ts).
    if (!unix) peerOnDemand(env, bunPeer, request);
    return respond(request, head, env);
  };

  const respond = (request: Request, head: HttpHead, env?: CgiEnviron): Response | Promise<Response> => {
    if (passFetch && canPassThrough(gateway, request)) return passThrough(gateway, request, head);
    const sink = new RuntimeSink(head.method === "HEAD", BUN_SINK);
    const stream = bodyOf(request);
    const body = stream === null ? null : new BunBody(stream as unknown as ReadableStream<Uint8Array>);
    const done = gateway.handle(env ?? environFromHttp(head, envOptions), head.rawHeaders, body, sink);
    if (sink.complete) return body === null ? sink.response! : afterBody(request, body, sink.response!); // no promise, no stream
    request.signal.addEventListener("abort", () => sink.disconnect(), { once: true });
    done.catch((err) => {
      gateway.log(`${request.method} ${request.url}: internal error: ${err instanceof Error ? err.stack : String(err)}`);
      sink.abort(err);
    });
    if (body === null) return sink.ready();
    // A whole body answered before the request body was read (a 413 for a chunked body past
    // maxBody, an app that ignores the body) waits for the rest of it (body.ts). A streamed
    // answer goes at once: the app may still be reading.
    return Promise.resolve(sink.ready()).then((r) => (sink.complete ? afterBody(request, body, r) : r));
  };

  // A refused address throws here (src/bind.ts: a stale socket file is replaced, and the error explained).
  server = await bindTo(scheme, target, () => Bun.serve({
    ...(unix ? { unix: target.path } : { port: target.port, hostname: target.host }),
    idleTimeout,
    maxRequestBodySize: options.maxRequestBodySize ?? Number.MAX_SAFE_INTEGER,
    development: false,
    ...(options.tls ? { tls: { cert: options.tls.cert, key: options.tls.key } } : {}),
    fetch: handle,
    error(err) {
      if (isAbort(err)) return internalError();
      gateway.log(`Bun.serve: ${err.stack ?? err.message}`);
      return internalError();
    },
  }));
  if (!unix && target.port === 0) local.serverPort = String(server.port);
  if (unix && options.socketMode !== undefined) chmodSync(target.path, options.socketMode);
  const url = unix ? formatTarget(scheme, target) : formatTarget(scheme, { host: target.host, port: server.port ?? target.port });

  // Out of descriptors, Bun stops accepting without a word: src/open-files.ts says so.
  const unwatch = watchOpenFiles(gateway.log);
  let closing: Promise<void> | null = null;
  return {
    url,
    close(graceMs = 30_000) {
      unwatch();
      // stop(false) stops accepting and resolves when in-flight requests are done;
      // past the grace period stop(true) cuts what is left.
      return (closing ??= closeWithin(graceMs, () => server.stop(false), () => server.stop(true)));
    },
  };
}

/** Options for `serve()`: the core's (where to listen, how to stop) plus the listener's. */
export interface BunServeAppOptions extends ServeOptions, BunListenOptions {}

/** The same as RunningServer (the name tsgi/bun and tsgi/deno exported first). */
export type RuntimeServer = RunningServer;

/** Serve `app` on Bun.serve; resolves once every address listens (after lifespan startup). */
export async function serve(app: App, options: BunServeAppOptions = {}): Promise<RunningServer> {
  return serveWith(listen, app, options);
}
