/**
 * Binding a node:net server to a ListenTarget: what the http, FastCGI and uwsgi listeners share
 * on node:net (listening once, removing our socket file on close). Stale sockets and the errors
 * a person reads are src/bind.ts's, as on Bun and Deno.
 */
import { chmodSync, lstatSync, unlinkSync } from "node:fs";
import cluster from "node:cluster";
import type { Server } from "node:net";
import { bindTo } from "../../src/bind.ts";
import type { ListenTarget } from "../../src/index.ts";

/**
 * Listen on `target` (a stale unix socket file replaced, a refusal explained: src/bind.ts), then
 * set the socket's mode. In a node:cluster worker the master binds the socket, and removed a
 * stale file before forking (src/manager/master.ts): the worker leaves the path alone.
 */
export async function bind(server: Server, target: ListenTarget, protocol: string, socketMode?: number, backlog?: number): Promise<void> {
  await bindTo(protocol, target, () => tryListen(server, target, backlog), { replaceStale: !cluster.isWorker });
  if ("path" in target && socketMode !== undefined) chmodSync(target.path, socketMode);
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
