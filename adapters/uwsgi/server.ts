/**
 * The uwsgi listener: accepts connections from nginx (`uwsgi_pass`), Apache
 * (`mod_proxy_uwsgi`) or uWSGI's HTTP router on TCP or a unix socket, one request per
 * connection, and hands each request to the Gateway.
 */
import { createServer, type Server, type Socket } from "node:net";
import { chmodSync } from "node:fs";
import { formatTarget, type Gateway, type Listener, type ListenTarget } from "../../src/index.ts";
import { acceptFailed, bind } from "../node/bind.ts";
import { MAX_VARS_SIZE } from "./codec.ts";
import { Connection, type ConnectionLimits } from "./connection.ts";
import { native, type RawHandle } from "../node/native.ts";

export interface UwsgiOptions {
  /**
   * Largest vars block (CGI variables and request headers) accepted, in bytes. Default 65535,
   * the most the protocol's 16-bit size can describe, so big cookies and JWTs never fail
   * here. (uWSGI's `--buffer-size` defaults to 4096, its users' most frequent 502.) Larger
   * blocks are answered 431 with one log line.
   */
  bufferSize?: number;
  /**
   * Milliseconds to wait for bytes we need (the packet, a body chunk the app asked for) or for
   * the peer to take response bytes, before closing with one log line; 0: wait forever.
   * Default 60000, nginx's
   * `uwsgi_send_timeout`/`uwsgi_read_timeout`, so we never give up before the front server.
   */
  readTimeout?: number;
  /** `tsgi serve --timeout`: the read timeout in seconds, used when readTimeout is not given; 0: none. */
  timeout?: number;
  /** Bytes of unread request body read and dropped after the response before closing. Default 64 MiB. */
  drainLimit?: number;
  /** Permissions of a unix socket file, e.g. 0o660 (uWSGI's `chmod-socket`). Default: umask. */
  socketMode?: number;
  /** `tsgi serve --access-log`: one line per request (combined log format plus duration). */
  accessLog?: (line: string) => void;
  /** Listen backlog (uWSGI's `listen`, default 100 there). Default 511. */
  backlog?: number;
  /**
   * Serve every connection through node:net's public API (a net.Socket each). By default on
   * Node a request without a body is served on the accepted handle itself, which halves the
   * CPU a connection costs (adapters/node/native.ts); Bun and Deno always use net.Socket.
   */
  portable?: boolean;
}

/** Start a uwsgi listener for `gateway` on `target`. Resolves once it accepts connections. */
export async function listen(gateway: Gateway, target: ListenTarget, options: UwsgiOptions = {}): Promise<Listener> {
  const limits: ConnectionLimits = {
    bufferSize: options.bufferSize ?? MAX_VARS_SIZE,
    readTimeout: options.readTimeout ?? (options.timeout !== undefined ? options.timeout * 1000 : 60_000),
    drainLimit: options.drainLimit ?? 64 * 1024 * 1024,
    accessLog: options.accessLog,
  };
  if (!Number.isInteger(limits.bufferSize) || limits.bufferSize < 64 || limits.bufferSize > MAX_VARS_SIZE) {
    throw new RangeError(`uwsgi bufferSize must be an integer from 64 to 65535 (the protocol's maximum), got ${options.bufferSize}`);
  }
  if (!(limits.readTimeout >= 0)) throw new RangeError(`uwsgi readTimeout must be a number of milliseconds (0: none), got ${limits.readTimeout}`);

  const connections = new Set<Connection>();
  // One timer for all connections: every `period` ms, time out those whose deadline passed.
  const period = Math.min(1000, Math.max(20, limits.readTimeout / 4));
  const sweeper = limits.readTimeout > 0 ? setInterval(() => {
    const now = Date.now();
    for (const c of connections) if (c.deadline !== 0 && now >= c.deadline) c.timeout();
  }, period) : null;
  sweeper?.unref();
  let idle: (() => void) | null = null;
  // One function for every connection's end (no closure per connection).
  const forget = (c: Connection) => {
    if (!c.listed) return;
    connections.delete(c);
    if (idle !== null && connections.size === 0) idle();
  };
  // Listed once start() returns, if still open: a request answered within it (the raw path's
  // usual case) costs the set nothing.
  const started = (c: Connection) => {
    if (c.gone) return;
    c.listed = true;
    connections.add(c);
  };
  const server: Server = createServer({ allowHalfOpen: true, noDelay: true }, (socket: Socket) => {
    const c = new Connection(socket, gateway, limits, forget);
    c.start(false);
    started(c);
  });
  await bind(server, target, "uwsgi", { backlog: options.backlog ?? 511, log: gateway.log });
  const nat = options.portable === true ? null : native();
  if (nat !== null) {
    // Reading the packet at accept, when it is already there, saves a second callback from the
    // event loop (epoll_ctl, a wakeup, a 64 KiB read buffer): ~4 us of CPU per request, measured
    // behind nginx on a unix socket, a quarter of the whole. When it is not there yet, readSync
    // throws EAGAIN (~3 us) and the loop reads it as usual. Over a unix socket nginx writes the
    // packet right after its connect() returns: 0.5-2% of tries miss with one process, up to
    // 8% with two workers sharing two cores with nginx, in bursts when a worker runs on nginx's
    // core between its connect() and its write. Over TCP the connect completes later and
    // 25-86% miss. Reading at accept pays while fewer than about 60% miss (a hit saves ~4 us, a
    // miss costs ~3), so: more than 40 misses in 64 tries turns it off for `pause` connections,
    // then it is tried again; `pause` starts at 64 (a burst is over by then) and doubles while
    // the tries keep missing (TCP). (It was 8 in 64 and 4096: bursts then kept two workers off
    // it for most of a run.)
    let tries = 0, misses = 0, skip = 0, pause = 64;
    nat.takeOver(server, (handle: RawHandle) => {
      const c = new Connection(handle, gateway, limits, forget, nat);
      if (skip > 0) {
        skip--;
        c.start(false);
        return started(c);
      }
      if (c.start(true)) misses++;
      started(c);
      if (++tries === 64) {
        if (misses > 40) {
          skip = pause;
          pause = Math.min(pause * 2, 1 << 20);
        } else pause = 64;
        tries = misses = 0;
      }
    }, acceptFailed("uwsgi", server, target, gateway.log));
  }
  if ("path" in target && options.socketMode !== undefined) chmodSync(target.path, options.socketMode);

  const addr = server.address();
  const shown: ListenTarget = "host" in target && addr !== null && typeof addr === "object" ? { host: target.host, port: addr.port } : target;
  let closing: Promise<void> | null = null;
  return {
    url: formatTarget("uwsgi", shown),
    close(graceMs = 30_000) {
      return (closing ??= new Promise<void>((resolve) => {
        server.close();
        const done = () => {
          if (sweeper !== null) clearInterval(sweeper);
          resolve();
        };
        if (connections.size === 0) return done();
        const timer = setTimeout(() => {
          for (const c of connections) c.socket.destroy();
        }, graceMs);
        idle = () => {
          clearTimeout(timer);
          done();
        };
      }));
    },
  };
}
