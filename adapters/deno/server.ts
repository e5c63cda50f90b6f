/**
 * tsgi on Deno.serve: TCP or unix socket, request bodies streamed from Deno's ReadableStream,
 * responses as a Response (plain bytes when complete, else a pull-based stream), disconnects
 * seen through `request.signal`, graceful stop through `server.shutdown()`.
 */
import { chmodSync } from "node:fs";
import { environFromHttp, formatTarget, serveWith, type App, type Gateway, type HttpHead, type Listener, type ListenTarget, type RunningServer, type ServeOptions } from "../../src/index.ts";
import { logged } from "../web/access-log.ts";
import { bodyOf, targetOf, type Endpoints } from "../web/request.ts";
import type { Peer } from "../web/peer.ts";
import { rawHeadersOf, responseHasHop } from "./internals.ts";
import { lazyEnviron, type HeadMaker } from "../web/lazy-environ.ts";
import { callApp, canPassThrough, passThrough } from "../web/native-fetch.ts";
import { internalError, isAbort, RuntimeSink, type FetchSinkOptions } from "../web/sink.ts";
import { denoGlobal, type DenoServeInfo } from "./types.ts";
import { closeWithin } from "../../src/listener.ts";
import { bindTo } from "../../src/bind.ts";
import { relisten } from "./relisten.ts";

/** Deno.serve writes Content-Length itself, ignores statusText, and takes string bodies without a copy (see FetchSinkOptions). */
const DENO_SINK: FetchSinkOptions = { framed: true, textBodies: true };

/** Options of one Deno listener. */
export interface DenoListenOptions {
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
  /**
   * `tsgi serve --timeout`: refused when above 0. Deno.serve has no read, header or idle
   * timeout to set (denoland/deno#3515): a client that sends half a request holds its
   * connection for as long as it likes, and a limit we said we set would be a lie.
   */
  timeout?: number;
}

/** Start one HTTP listener for `gateway` on Deno. */
export async function listen(gateway: Gateway, target: ListenTarget, options: DenoListenOptions = {}): Promise<Listener> {
  const Deno = denoGlobal();
  if (Deno === null) throw new Error("tsgi/deno runs on Deno only; on Node use tsgi/node, on Bun tsgi/bun");
  // Deno.serve cannot adopt a socket, but Deno's node:http can (verified with Deno 2.9).
  if ("fd" in target) {
    const { tls, ...rest } = options;
    const node = await import("../node/index.ts");
    return node.listen(gateway, target, { ...rest, tls: tls && { cert: Buffer.from(tls.cert), key: Buffer.from(tls.key) } });
  }
  if (options.timeout !== undefined && options.timeout > 0) {
    throw new Error(`--timeout ${options.timeout}: Deno.serve has no read or idle timeout to set (denoland/deno#3515), so tsgi's HTTP listener on Deno cannot close slow clients; ` +
      `drop --timeout (FastCGI and uwsgi listeners on Deno honour it), put a front server with timeouts (nginx) before it, or run tsgi under Node or Bun`);
  }
  const unix = "path" in target;
  const local: Endpoints = unix ? { serverName: "localhost", serverPort: "" } : { serverName: target.host, serverPort: String(target.port) };
  // Responses still streaming, so that a stop past its grace period can cut them.
  const streaming = new Set<RuntimeSink>();
  const passFetch = options.nativeFetch !== false && gateway.kind === "fetch";

  const scheme = options.tls ? "https" : "http";
  const accessLog = options.accessLog;

  const envOptions = { mount: gateway.mount };

  // The peer is asked for at once: an accessor that asks on first read (as tsgi/bun does) made
  // V8 give every environ its own hidden class (+10k instructions per request; asking costs 1.3k).
  const headOf = (request: Request, info: DenoServeInfo): HttpHead => {
    const peer = unix ? null : denoPeer(info);
    return {
      method: request.method,
      target: targetOf(request.url),
      rawHeaders: rawHeadersOf(request),
      httpVersion: "1.1",
      scheme,
      serverName: local.serverName,
      serverPort: local.serverPort,
      remoteAddr: peer?.address,
      remotePort: peer === null ? undefined : String(peer.port),
    };
  };
  const heads: HeadMaker<DenoServeInfo> = { head: headOf };

  const handler = (request: Request, info: DenoServeInfo): Response | Promise<Response> => {
    if (accessLog) {
      const head = headOf(request, info);
      const t0 = performance.now();
      return logged(respond(request, info, head), head, request, t0, accessLog);
    }
    // A fetch app gets its environ built only if it reads it (../web/lazy-environ.ts).
    if (passFetch && canPassThrough(gateway, request)) return callApp(gateway, request, lazyEnviron(gateway, request, heads, info), responseHasHop);
    return respond(request, info, headOf(request, info));
  };

  const respond = (request: Request, info: DenoServeInfo, head: HttpHead): Response | Promise<Response> => {
    if (passFetch && canPassThrough(gateway, request)) return passThrough(gateway, request, head, responseHasHop);
    const sink = new RuntimeSink(head.method === "HEAD", DENO_SINK);
    // Deno gives GET and HEAD requests no body whatever they carry; asking costs an op.
    const body = head.method === "GET" || head.method === "HEAD" ? null : bodyOf(request);
    const done = gateway.handle(environFromHttp(head, envOptions), head.rawHeaders, body, sink);
    if (sink.complete) return sink.response!; // complete already: no promise, no stream
    // `completed` rejects when the client goes away; request.signal would also fire after a
    // successful response (Deno's legacy behaviour, with a warning).
    if (info.completed) info.completed.catch(() => sink.disconnect());
    else request.signal.addEventListener("abort", () => sink.disconnect(), { once: true });
    streaming.add(sink);
    done.then(() => streaming.delete(sink), (err) => {
      streaming.delete(sink);
      gateway.log(`${request.method} ${request.url}: internal error: ${err instanceof Error ? err.stack : String(err)}`);
      sink.abort(err);
    });
    return sink.ready();
  };

  let port = unix ? 0 : target.port;
  const serveOn = (at: { host: string; port: number } | { path: string }) => Deno.serve({
    ...("path" in at ? { path: at.path, transport: "unix" as const } : { port: at.port, hostname: at.host }),
    ...(options.tls ? { cert: text(options.tls.cert), key: text(options.tls.key) } : {}),
    // Deno prints "Listening on ..." by default; the CLI prints its own line.
    onListen(addr) {
      if (addr.transport === "tcp") port = addr.port;
    },
    onError(err) {
      // Our own aborts (the core already logged why) arrive here too: no second line for them.
      if (isAbort(err)) return internalError();
      gateway.log(`Deno.serve: ${err instanceof Error ? err.stack : String(err)}`);
      return internalError();
    },
  }, handler);
  const listening = new Promise<void>((resolve) => setTimeout(resolve, 0));
  // A refused address throws here (src/bind.ts: a stale socket file is replaced, and the error explained).
  const server = await bindTo(scheme, target, () => serveOn(target));
  await listening;
  if (!unix) {
    const a = server.addr;
    if (a.transport === "tcp") port = a.port;
    if (target.port === 0) local.serverPort = String(port);
  }
  if (unix && options.socketMode !== undefined) chmodSync(target.path, options.socketMode);
  const url = unix ? formatTarget(scheme, target) : formatTarget(scheme, { host: target.host, port });
  // A failed accept loop ends a Deno.serve for good: serve again on the same address (relisten.ts).
  const again = unix ? target : { host: target.host, port };
  const watch = relisten(server, async () => {
    const s = await bindTo(scheme, again, () => serveOn(again));
    if (unix && options.socketMode !== undefined) chmodSync(target.path, options.socketMode);
    return s;
  }, url, gateway.log);

  let closing: Promise<void> | null = null;
  return {
    url,
    close(graceMs = 30_000) {
      watch.stop();
      const shutdown = () => Promise.all([...watch.servers].map((s) => s.shutdown().catch(() => {})));
      return (closing ??= closeWithin(graceMs, shutdown, () => {
        for (const s of streaming) s.abort(new Error("server stopped"));
      }));
    },
  };
}

/** Options for `serve()`: the core's (where to listen, how to stop) plus the listener's. */
export interface DenoServeAppOptions extends ServeOptions, DenoListenOptions {}

/** Serve `app` on Deno.serve; resolves once every address listens (after lifespan startup). */
export async function serve(app: App, options: DenoServeAppOptions = {}): Promise<RunningServer> {
  return serveWith(listen, app, options);
}

/** The TCP peer of a Deno.serve request; null once the request is over (Deno throws "Request closed"). */
function denoPeer(info: DenoServeInfo): Peer | null {
  try {
    const a = info.remoteAddr;
    return a.transport === "tcp" ? { address: a.hostname, port: a.port } : null;
  } catch {
    return null;
  }
}

function text(pem: string | Uint8Array): string {
  return typeof pem === "string" ? pem : new TextDecoder().decode(pem);
}
