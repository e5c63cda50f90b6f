/**
 * tsgi on node:http (and node:https): keep-alive, HEAD, Expect: 100-continue (node answers it),
 * chunked or sized bodies both ways, backpressure, disconnects, graceful stop.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { Gateway, Lifespan, type App, type GatewayOptions, type HttpHead } from "../../src/index.ts";
import { bodyOf, NodeSink } from "./sink.ts";

/** Where to listen: a TCP host/port, or a unix socket path. */
export type ListenAddress = { host?: string; port: number } | { path: string };

export interface NodeServeOptions extends GatewayOptions {
  /** One or more addresses; default 127.0.0.1:8000. */
  listen?: ListenAddress | ListenAddress[];
  /** PEM certificate and key: serve HTTPS (tsgi.url_scheme becomes "https"). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Log one line per request to this function (combined-log style). */
  accessLog?: (line: string) => void;
  /** Seconds a request may take before its connection is closed (0: no limit). Default 0. */
  timeout?: number;
  /** Seconds an idle keep-alive connection is kept. Default 5. */
  keepAliveTimeout?: number;
  /** Seconds in-flight requests get to finish on stop. Default 30. */
  gracefulTimeout?: number;
  /** Install SIGTERM/SIGINT handlers that stop gracefully. Default false (the CLI sets it). */
  handleSignals?: boolean;
}

export interface RunningServer {
  /** Printable addresses, e.g. `http://127.0.0.1:8000` or `unix:/run/app.sock`. */
  readonly urls: string[];
  readonly servers: Server[];
  /** Stop accepting, let in-flight requests finish (up to gracefulTimeout), run lifespan shutdown. */
  close(): Promise<void>;
}

/** The request listener alone, for embedding in an existing node:http server. */
export function requestListener(gateway: Gateway, scheme: "http" | "https", accessLog?: (line: string) => void) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const sock = req.socket;
    const head: HttpHead = {
      method: req.method ?? "GET",
      target: req.url ?? "/",
      rawHeaders: req.rawHeaders,
      httpVersion: req.httpVersion,
      scheme,
      serverName: sock.localAddress ?? "localhost",
      serverPort: String(sock.localPort ?? ""),
      remoteAddr: sock.remoteAddress,
      remotePort: sock.remotePort === undefined ? undefined : String(sock.remotePort),
    };
    if (accessLog) {
      const t0 = performance.now();
      res.once("finish", () => accessLog(accessLine(head, res, performance.now() - t0)));
    }
    const sink = new NodeSink(res);
    gateway.handleHttp(head, bodyOf(req), sink).then(() => {
      // The app did not read the body: drain it so the connection stays usable for the next request.
      if (!req.complete && !req.destroyed) req.resume();
    }, (err) => {
      gateway.log(`${head.method} ${head.target}: internal error: ${err instanceof Error ? err.stack : String(err)}`);
      if (!res.headersSent) sink.abort(err);
    });
  };
}

function accessLine(h: HttpHead, res: ServerResponse, ms: number): string {
  const len = res.getHeader("content-length") ?? "-";
  return `${h.remoteAddr ?? "-"} - - [${new Date().toISOString()}] "${h.method} ${h.target} HTTP/${h.httpVersion}" ${res.statusCode} ${len} ${ms.toFixed(1)}ms`;
}

/** Start serving `app`; resolves once every address listens (after lifespan startup). */
export async function serve(app: App, options: NodeServeOptions = {}): Promise<RunningServer> {
  const lifespan = new Lifespan(app, options.log ?? ((l) => process.stderr.write(`tsgi: ${l}\n`)));
  await lifespan.startup();
  const gateway = new Gateway(app, { ...options, state: lifespan.state });
  const scheme = options.tls ? "https" : "http";
  const listener = requestListener(gateway, scheme, options.accessLog);
  const addrs = options.listen === undefined ? [{ host: "127.0.0.1", port: 8000 }] : ([] as ListenAddress[]).concat(options.listen);
  const servers: Server[] = [];
  const urls: string[] = [];
  try {
    for (const addr of addrs) {
      const server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener) : createHttpServer(listener);
      server.keepAliveTimeout = (options.keepAliveTimeout ?? 5) * 1000;
      server.requestTimeout = (options.timeout ?? 0) * 1000;
      servers.push(server as Server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        const done = () => {
          server.off("error", reject);
          resolve();
        };
        if ("path" in addr) server.listen(addr.path, done);
        else server.listen(addr.port, addr.host ?? "127.0.0.1", done);
      });
      const a = server.address();
      urls.push(typeof a === "string" ? `unix:${a}` : `${scheme}://${formatHost((a as AddressInfo).address)}:${(a as AddressInfo).port}`);
    }
  } catch (err) {
    for (const s of servers) s.close();
    throw err;
  }

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      const grace = (options.gracefulTimeout ?? 30) * 1000;
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => {
        const timer = setTimeout(() => s.closeAllConnections(), grace);
        timer.unref();
        s.close(() => {
          clearTimeout(timer);
          resolve();
        });
        s.closeIdleConnections();
      })));
      await lifespan.shutdown();
    })());

  if (options.handleSignals) {
    const onSignal = (sig: string) => {
      gateway.log(`${sig}: finishing in-flight requests, then exiting`);
      close().then(() => process.exit(0), () => process.exit(1));
    };
    process.once("SIGTERM", () => onSignal("SIGTERM"));
    process.once("SIGINT", () => onSignal("SIGINT"));
  }
  return { urls, servers, close };
}

function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
