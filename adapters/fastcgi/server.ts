/**
 * The FastCGI listener: TCP, a unix socket, or a listening socket inherited as fd 0 (how
 * lighttpd `bin-path`, spawn-fcgi and mod_fcgid start backends: fcgi-spec §2.2).
 */
import { chmodSync } from "node:fs";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { formatTarget, type Gateway, type Listener, type ListenTarget, type Log } from "../../src/index.ts";
// The http listener's binding (node:net, as here); only an fd's refusal is FastCGI's own.
import { acceptFailed, bind as bindServer, removeSocketFile, reportAcceptFailures, tryListen } from "../node/bind.ts";
import { native, type RawHandle } from "../node/native.ts";
import { Connection } from "./connection.ts";
import type { Context } from "./exchange.ts";

export interface FastCgiOptions {
  /** Concurrent connections accepted; advertised as FCGI_MAX_CONNS. Default 1024. */
  maxConns?: number;
  /**
   * Concurrent requests on the whole listener; a BEGIN_REQUEST past it is answered
   * FCGI_OVERLOADED (the front server turns that into a 502). Advertised as FCGI_MAX_REQS.
   * Default 1024.
   */
  maxReqs?: number;
  /** Serve several requests at once on one connection (FCGI_MPXS_CONNS). Default true. */
  multiplex?: boolean;
  /** Largest PARAMS stream (all CGI variables of one request) in bytes; more gets 431. Default 256 KiB. */
  maxParamsSize?: number;
  /**
   * Milliseconds the web server may leave us waiting in the middle of a record, or for the rest
   * of a request's PARAMS/STDIN, or take none of the output waiting for it (then at least 5 s),
   * before the connection is closed. 0: no limit. Default 60000
   * (nginx's own fastcgi_send_timeout). Idle kept-alive connections never time out: the web
   * server owns them (fcgi-spec §3.5).
   */
  readTimeout?: number;
  /** The same in seconds, as `tsgi serve --timeout` gives it; `readTimeout` wins when both are set. */
  timeout?: number;
  /**
   * Permissions of a unix socket file, e.g. 0o660 (uWSGI's `chmod-socket`, PHP-FPM's
   * `listen.mode`): the web server's user needs write permission to connect. Default: the umask's.
   */
  socketMode?: number;
  /**
   * Peer addresses allowed to connect over TCP, as the spec's FCGI_WEB_SERVER_ADDRS
   * environment variable lists them (§3.2); that variable is the default.
   */
  webServerAddrs?: string[];
  /** Diagnostics sink. Default: the gateway's log. */
  log?: Log;
  /**
   * Serve every connection through node:net's public API (a net.Socket each). By default on
   * Node a connection starts on the accepted handle itself, which costs about half the CPU per
   * connection (adapters/node/native.ts); Bun and Deno always use net.Socket.
   */
  portable?: boolean;
}

/** Start serving `gateway` over FastCGI on `target`. */
export async function listen(gateway: Gateway, target: ListenTarget, options: FastCgiOptions = {}): Promise<Listener> {
  const ctx: Context = {
    gateway,
    log: options.log ?? gateway.log,
    active: 0,
    maxConns: options.maxConns ?? 1024,
    maxReqs: options.maxReqs ?? 1024,
    multiplex: options.multiplex ?? true,
    maxParamsSize: options.maxParamsSize ?? 256 * 1024,
    readTimeout: options.readTimeout ?? (options.timeout !== undefined ? options.timeout * 1000 : 60_000),
  };
  if (!(ctx.readTimeout >= 0)) throw new RangeError(`fastcgi readTimeout must be a number of milliseconds (0: none), got ${ctx.readTimeout}`);
  const mode = options.socketMode;
  if (mode !== undefined && !(Number.isInteger(mode) && mode >= 0 && mode <= 0o777)) {
    throw new RangeError(`fastcgi socketMode must be a file mode from 0 to 0o777 (e.g. 0o660), got ${mode}`);
  }
  const allowed = allowList(options.webServerAddrs ?? process.env.FCGI_WEB_SERVER_ADDRS?.split(","));
  const conns = new Set<Connection>();
  const forget = (c: Connection) => conns.delete(c);
  // TCP only (fd 0 may be either): a response is one write, so don't let Nagle hold it back.
  const tcp = !("path" in target);
  const server: Server = createServer({ allowHalfOpen: true }, (socket: Socket) => {
    if (tcp) {
      const peer = socket.remoteAddress; // undefined on a unix socket
      if (peer !== undefined) {
        if (allowed !== null && !allowed.has(plainAddress(peer))) {
          ctx.log(`fastcgi: connection from ${peer} refused: not in FCGI_WEB_SERVER_ADDRS`);
          socket.destroy();
          return;
        }
        socket.setNoDelay(true);
      }
    }
    conns.add(new Connection(socket, ctx, forget));
  });
  server.maxConnections = ctx.maxConns;

  await bind(server, target, ctx.log);
  // The raw path (Node): every connection starts on the accepted handle (native.ts).
  const nat = options.portable !== true ? native() : null;
  if (nat !== null) {
    nat.takeOver(server, (handle: RawHandle) => {
      // Replacing onconnection skips net.Server's own maxConnections check: made here.
      if (conns.size >= ctx.maxConns) return handle.close();
      // A unix socket's handle has neither method: no address to check, no Nagle.
      if (tcp && typeof handle.getpeername === "function") {
        if (allowed !== null) {
          const out: { address?: string } = {};
          const peer = handle.getpeername(out) === 0 ? out.address : undefined;
          if (peer !== undefined && !allowed.has(plainAddress(peer))) {
            ctx.log(`fastcgi: connection from ${peer} refused: not in FCGI_WEB_SERVER_ADDRS`);
            return handle.close();
          }
        }
        // As for a net.Socket: a kept connection's small writes must not wait on Nagle.
        handle.setNoDelay?.(true);
      }
      const c = new Connection(handle, ctx, forget, nat);
      conns.add(c);
      c.start();
    }, acceptFailed("fastcgi", server, target, ctx.log));
  }
  if ("path" in target && mode !== undefined) chmodSync(target.path, mode);
  const address = server.address();
  const shown: ListenTarget = "port" in target && address !== null && typeof address === "object" ? { host: target.host, port: (address as AddressInfo).port } : target;

  const tick = Math.min(1000, Math.max(50, ctx.readTimeout > 0 ? ctx.readTimeout / 4 : 1000));
  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const c of conns) c.sweep(now);
  }, tick);
  sweeper.unref();

  let closing: Promise<void> | null = null;
  const close = (graceMs = 30_000) =>
    (closing ??= new Promise<void>((resolve) => {
      server.close();
      for (const c of conns) c.shutdown();
      const hard = setTimeout(() => {
        for (const c of conns) c.kill();
      }, graceMs);
      const poll = setInterval(() => {
        if (conns.size > 0) return;
        clearInterval(poll);
        clearTimeout(hard);
        clearInterval(sweeper);
        if ("path" in target) removeSocketFile(target.path);
        resolve();
      }, 20);
    }));
  return { url: formatTarget("fastcgi", shown), close };
}

/** Listen on `target` (src/bind.ts: a stale socket file replaced, a refusal explained); an fd's refusal says what fd 0 must be. */
async function bind(server: Server, target: ListenTarget, log: (line: string) => void): Promise<void> {
  if (!("fd" in target)) return bindServer(server, target, "fastcgi", { log });
  try {
    await tryListen(server, target);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`cannot serve FastCGI on fd ${target.fd} (${e.code ?? e.message}): it must be a listening socket, as lighttpd bin-path or spawn-fcgi pass; otherwise give an address (--fastcgi HOST:PORT or a socket path)`);
  }
  reportAcceptFailures(server, "fastcgi", target, log);
}

function allowList(addrs: string[] | undefined): Set<string> | null {
  if (addrs === undefined) return null;
  const list = addrs.map((a) => a.trim()).filter((a) => a !== "");
  return list.length === 0 ? null : new Set(list);
}

/** `::ffff:127.0.0.1` (an IPv4 peer on a dual-stack socket) as `127.0.0.1`. */
function plainAddress(a: string): string {
  return a.startsWith("::ffff:") ? a.slice(7) : a;
}
