/**
 * Binding a node:net server to a ListenTarget: the http listener's bind (with errors a person
 * can act on), and the steps the FastCGI and uwsgi listeners share with it (listening once,
 * a stale unix socket, removing ours on close). Those two keep their own errors.
 */
import { chmodSync, lstatSync, unlinkSync } from "node:fs";
import cluster from "node:cluster";
import { connect, type Server } from "node:net";
import { formatTarget, type ListenTarget } from "../../src/index.ts";

/** Listen on `target`; a stale unix socket file (nobody answers on it) is replaced, as PHP-FPM does. */
export async function bind(server: Server, target: ListenTarget, protocol: string, socketMode?: number): Promise<void> {
  try {
    await tryListen(server, target);
  } catch (err) {
    if (!(await clearedStaleSocket(target, err))) {
      throw new Error(`cannot listen on ${formatTarget(protocol, target)}: ${explain((err as NodeJS.ErrnoException).code, err as Error, target)}`);
    }
    await tryListen(server, target);
  }
  if ("path" in target && socketMode !== undefined) chmodSync(target.path, socketMode);
}

/**
 * After a failed listen: true when `err` is a unix socket path in use by a file that a dead
 * process left (a socket nobody answers on), which is now removed, so listening again can work.
 */
export async function clearedStaleSocket(target: ListenTarget, err: unknown): Promise<boolean> {
  if (!("path" in target) || (err as NodeJS.ErrnoException).code !== "EADDRINUSE" || !isSocket(target.path) || (await alive(target.path))) return false;
  unlinkSync(target.path);
  return true;
}

function explain(code: string | undefined, err: Error, target: ListenTarget): string {
  switch (code) {
    case "EADDRINUSE": return "the address is already in use (another server runs there?)";
    case "EACCES": return "permission denied (ports below 1024 need privileges; socket folders need write access)";
    case "EADDRNOTAVAIL": return "no such local address on this machine";
    case "ENOENT": return "the socket's folder does not exist";
    case "ENOTFOUND": return `cannot resolve host ${"host" in target ? target.host : ""}`;
    default: return code ? `${code} (${err.message})` : err.message;
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

function isSocket(path: string): boolean {
  try {
    return lstatSync(path).isSocket();
  } catch {
    return false;
  }
}

/** Whether a server answers on unix socket `path`. */
export function alive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
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
