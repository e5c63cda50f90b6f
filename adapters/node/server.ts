/**
 * tsgi on node:http (and node:https): keep-alive, HEAD, Expect: 100-continue, chunked or sized
 * bodies both ways, backpressure both ways, disconnects, graceful stop.
 *
 * `listen(gateway, target, options)` is the protocol-adapter entry point `tsgi serve` uses (one
 * per --http address, sharing one Gateway with --fastcgi/--uwsgi listeners); `serve(app, options)`
 * is the all-in-one for embedding: lifespan, Gateway, listeners, signals.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { DONE, formatTarget, serveWith, type App, type Gateway, type HttpHead, type Listener, type ListenTarget, type RunningServer, type ServeOptions } from "../../src/index.ts";
import { bind, removeSocketFile } from "./bind.ts";
import { accessLine } from "./access-log.ts";
import { bodyOf, continueOnPull, NodeSink } from "./sink.ts";
import { endpoints } from "./endpoints.ts";

/** Options of one HTTP listener. */
export interface NodeListenOptions {
  /** PEM certificate chain and private key: serve HTTPS (tsgi.url_scheme becomes "https"). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** One line per finished request (Apache combined format plus the duration). */
  accessLog?: (line: string) => void;
  /**
   * Seconds a connection may stay silent (no bytes either way) while a request is in progress,
   * and the longest time a client may take to send a whole request. 0: no limit. Default: node's
   * own (no inactivity limit; 300 s per request).
   */
  timeout?: number;
  /** Seconds an idle keep-alive connection is kept open. Default 5. */
  keepAliveTimeout?: number;
  /** File mode for a unix socket (e.g. 0o660 so that a web server's group can connect). */
  socketMode?: number;
  /**
   * Offered each request before the core (not Expect: 100-continue ones): returns true when it
   * took the request. tsgi/hono's Node carrier for fetch apps (adapters/hono/node.ts) uses it.
   */
  route?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

/** The request handler alone, for embedding in an existing node:http server. */
export function requestListener(gateway: Gateway, scheme: "http" | "https" = "http", accessLog?: (line: string) => void) {
  return function onRequest(req: IncomingMessage, res: ServerResponse): void {
    handle(gateway, scheme, accessLog, req, res, bodyOf(req));
  };
}

/** A listener's handler: as requestListener, plus `Connection: close` once the listener is stopping. */
function stoppableListener(gateway: Gateway, scheme: "http" | "https", accessLog: ((line: string) => void) | undefined, state: { closing: boolean }, route?: NodeListenOptions["route"]) {
  return function onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (state.closing) res.shouldKeepAlive = false;
    if (route !== undefined && route(req, res)) return;
    handle(gateway, scheme, accessLog, req, res, bodyOf(req));
  };
}

function handle(gateway: Gateway, scheme: "http" | "https", accessLog: ((line: string) => void) | undefined, req: IncomingMessage, res: ServerResponse, body: AsyncIterable<Uint8Array> | null): void {
  const e = endpoints(req.socket);
  const head: HttpHead = {
    method: req.method!,
    target: req.url!,
    rawHeaders: req.rawHeaders,
    httpVersion: req.httpVersion,
    scheme,
    serverName: e.serverName,
    serverPort: e.serverPort,
    remoteAddr: e.remoteAddr,
    remotePort: e.remotePort,
  };
  const sink = new NodeSink(res);
  if (accessLog !== undefined) {
    const t0 = performance.now();
    res.once("close", () => accessLog(accessLine(req, res, sink.bytes, performance.now() - t0)));
  }
  // The core turns app errors into responses and never rejects; a rejection here is a bug in
  // tsgi itself, logged by the gateway's handler (one shared function, no closure per request).
  const done = gateway.handleHttp(head, body, sink);
  // DONE: the response completed synchronously; a .catch would cost a promise and a microtask.
  if (done !== DONE) done.catch(internalErrorHandler(gateway));
}

const errorHandlers = new WeakMap<Gateway, (err: unknown) => void>();
function internalErrorHandler(gateway: Gateway): (err: unknown) => void {
  let h = errorHandlers.get(gateway);
  if (h === undefined) {
    h = (err) => gateway.log(`internal error (a bug in tsgi; please report it): ${err instanceof Error ? err.stack : String(err)}`);
    errorHandlers.set(gateway, h);
  }
  return h;
}

/** Start one HTTP(S) listener for `gateway` on `target`. */
export async function listen(gateway: Gateway, target: ListenTarget, options: NodeListenOptions = {}): Promise<Listener> {
  const scheme = options.tls ? "https" : "http";
  const state = { closing: false };
  const onRequest = stoppableListener(gateway, scheme, options.accessLog, state, options.route);
  // node checks requestTimeout and headersTimeout only every connectionsCheckingInterval (30 s
  // by default): `--timeout 5` would let a slow client hold its connection for up to 35 s.
  const checking = options.timeout !== undefined && options.timeout > 0 ? { connectionsCheckingInterval: Math.min(30_000, Math.max(250, options.timeout * 250)) } : {};
  const server: Server = options.tls
    ? (createHttpsServer({ cert: options.tls.cert, key: options.tls.key, ...checking }, onRequest) as unknown as Server)
    : createHttpServer(checking, onRequest);
  // Expect: 100-continue (RFC 9110 §10.1.1): answer 100 only when the app pulls the body, so a
  // request refused early (413, or an app that ignores the body) never invites the upload.
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => {
    if (state.closing) res.shouldKeepAlive = false;
    handle(gateway, scheme, options.accessLog, req, res, continueOnPull(req, res));
  });
  server.keepAliveTimeout = (options.keepAliveTimeout ?? 5) * 1000;
  if (options.timeout !== undefined) {
    server.requestTimeout = options.timeout * 1000;
    server.headersTimeout = options.timeout > 0 ? Math.min(options.timeout * 1000, 60_000) : 0;
    server.timeout = options.timeout * 1000;
  }
  await bind(server, target, scheme, { socketMode: options.socketMode, log: gateway.log });
  const address = server.address();
  const shown: ListenTarget = "port" in target && address !== null && typeof address === "object" ? { host: target.host, port: (address as AddressInfo).port } : target;

  let closing: Promise<void> | null = null;
  const close = (graceMs = 30_000) =>
    (closing ??= new Promise<void>((resolve) => {
      // Stop accepting. Requests that arrive from now on are answered with `Connection: close`;
      // connections close as their in-flight request ends (the sweep catches a connection as
      // soon as it is idle), idle ones close now; past graceMs everything is cut.
      state.closing = true;
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const hard = setTimeout(() => server.closeAllConnections(), graceMs);
      hard.unref();
      server.close(() => {
        clearInterval(sweep);
        clearTimeout(hard);
        if ("path" in target) removeSocketFile(target.path);
        resolve();
      });
      server.closeIdleConnections();
    }));
  return { url: formatTarget(scheme, shown), close };
}

/** Where `serve()` listens: a ListenTarget, or `{port}` alone for 127.0.0.1. */
export type ListenAddress = ListenTarget | { host?: string; port: number };

/** Options for `serve()`: the core's (how to stop), the listener's, and where to listen. */
export interface NodeServeOptions extends Omit<ServeOptions, "listen">, NodeListenOptions {
  /** One or more addresses; default 127.0.0.1:8000. Port 0 picks a free port. */
  listen?: ListenAddress | ListenAddress[];
}

/** Serve `app` on node:http; resolves once every address listens (after lifespan startup). */
export async function serve(app: App, options: NodeServeOptions = {}): Promise<RunningServer> {
  const addrs = options.listen === undefined ? undefined : ([] as ListenAddress[]).concat(options.listen);
  const targets = addrs?.map((a): ListenTarget => ("port" in a ? { host: a.host ?? "127.0.0.1", port: a.port } : a));
  return serveWith(listen, app, { ...options, listen: targets });
}
