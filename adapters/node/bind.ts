/**
 * Binding a node:net server to a ListenTarget: what the http, FastCGI and uwsgi listeners share
 * on node:net (listening once, removing our socket file on close). Stale sockets and the errors
 * a person reads are src/bind.ts's, as on Bun and Deno.
 */
import { chmodSync, lstatSync, unlinkSync } from "node:fs";
import cluster from "node:cluster";
import type { Server } from "node:net";
import { getSystemErrorName } from "node:util";
import { acceptError, bindTo, openFilesLimit } from "../../src/bind.ts";
import { watchOpenFiles } from "../../src/open-files.ts";
import { formatTarget, type ListenTarget } from "../../src/index.ts";

/**
 * Listen on `target` (a stale unix socket file replaced, a refusal explained: src/bind.ts), then
 * set the socket's mode. In a node:cluster worker the master binds the socket, and removed a
 * stale file before forking (src/manager/master.ts): the worker leaves the path alone.
 */
export async function bind(server: Server, target: ListenTarget, protocol: string, options: BindServerOptions = {}): Promise<void> {
  await bindTo(protocol, target, () => tryListen(server, target, options.backlog), { replaceStale: !cluster.isWorker });
  if ("path" in target && options.socketMode !== undefined) chmodSync(target.path, options.socketMode);
  if (options.log !== undefined) reportAcceptFailures(server, protocol, target, options.log);
}

/**
 * What the listener tells the log about accepting, once it listens: a failed accept (below), and
 * running out of file descriptors, which libuv handles without reporting it (src/open-files.ts).
 */
export function reportAcceptFailures(server: Server, protocol: string, target: ListenTarget, log: (line: string) => void): void {
  server.on("error", acceptFailed(protocol, server, target, log));
  server.once("close", watchOpenFiles(log));
}

export interface BindServerOptions {
  /** File mode for a unix socket (e.g. 0o660). */
  socketMode?: number;
  /** node:net's default (511) when absent. */
  backlog?: number;
  /** Where a failed accept is reported once listening (without it, node:net's 'error' would end the process). */
  log?: (line: string) => void;
}

/**
 * The report of a failed accept, one line each, for net.Server's 'error' (which node:net emits
 * when accept fails: with no listener, the process would die) and for the raw path's
 * onconnection (adapters/node/native.ts), which gets the same failures as a negative errno.
 * libuv already rides out running out of descriptors itself (it closes what it cannot accept);
 * what reaches us is rarer (ENFILE, ENOMEM, ENOBUFS), and the listener keeps accepting.
 */
export function acceptFailed(protocol: string, server: Server, target: ListenTarget, log: (line: string) => void): (err: Error | number) => void {
  const limit = openFilesLimit();
  return (err) => {
    // The port the server got, for port 0.
    const a = server.address();
    const where = formatTarget(protocol, "host" in target && a !== null && typeof a === "object" ? { host: target.host, port: a.port } : target);
    const e = typeof err === "number" ? Object.assign(new Error(`accept ${uvName(err)}`), { code: uvName(err) }) : err;
    log(`${where}: accepting a connection failed: ${acceptError(e, limit)}; still listening`);
  };
}

function uvName(errno: number): string {
  try {
    return getSystemErrorName(errno);
  } catch {
    return `error ${errno}`;
  }
}

/** Listen on `target` once; rejects with the server's own error. `backlog`: node:net's default (511) when absent. */
export function tryListen(server: Server, target: ListenTarget, backlog?: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => reject(err);
    server.once("error", fail);
    const done = () => {
      server.off("error", fail);
      resolve();
    };
    if ("fd" in target) server.listen({ fd: target.fd, backlog }, done);
    else if ("path" in target) server.listen({ path: target.path, backlog }, done);
    else server.listen({ host: target.host, port: target.port, backlog }, done);
  });
}

/**
 * Remove our unix socket file after closing. Not in a node:cluster worker: the primary bound the
 * socket and other workers still serve on it (`tsgi serve --workers`, a reload); the primary's
 * libuv removes the file when the last worker lets go.
 */
export function removeSocketFile(path: string): void {
  if (cluster.isWorker) return;
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch { /* already gone */ }
}
