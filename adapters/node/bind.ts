/** Binding a node:net-based server to a ListenTarget, with errors a person can act on. */
import { chmodSync, lstatSync, unlinkSync } from "node:fs";
import cluster from "node:cluster";
import { connect, type Server } from "node:net";
import { formatTarget, type ListenTarget } from "../../src/index.ts";

/** Listen on `target`; a stale unix socket file (nobody answers on it) is replaced, as PHP-FPM does. */
export async function bind(server: Server, target: ListenTarget, protocol: string, socketMode?: number): Promise<void> {
  try {
    await tryListen(server, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if ("path" in target && code === "EADDRINUSE" && isSocket(target.path) && !(await alive(target.path))) {
      unlinkSync(target.path);
      await tryListen(server, target);
    } else {
      throw new Error(`cannot listen on ${formatTarget(protocol, target)}: ${explain(code, err as Error, target)}`);
    }
  }
  if ("path" in target && socketMode !== undefined) chmodSync(target.path, socketMode);
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

function tryListen(server: Server, target: ListenTarget): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => reject(err);
    server.once("error", fail);
    const done = () => {
      server.off("error", fail);
      resolve();
    };
    if ("fd" in target) server.listen({ fd: target.fd }, done);
    else if ("path" in target) server.listen(target.path, done);
    else server.listen(target.port, target.host, done);
  });
}

function isSocket(path: string): boolean {
  try {
    return lstatSync(path).isSocket();
  } catch {
    return false;
  }
}

function alive(path: string): Promise<boolean> {
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
