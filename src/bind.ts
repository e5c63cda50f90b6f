/**
 * Binding a listener to its address, the same way for every protocol on every runtime: a unix
 * socket file that a dead process left behind is replaced (a crash or a SIGKILL must not stop
 * the next start, as with PHP-FPM), and a refusal becomes one message that says what to fix.
 * Node, Bun and Deno all set `code` ("EADDRINUSE", ...) on their listen errors, so one
 * explanation serves all three; their own messages differ ("Is port 80 in use?", "os error 98").
 */
import { existsSync, lstatSync, readFileSync, unlinkSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { connect } from "node:net";
import { formatTarget, type ListenTarget } from "./listener.ts";

export interface BindOptions {
  /**
   * Replace a stale socket file and try again (default true). False in a process whose socket
   * another process binds for it (a node:cluster worker): there the master removed a stale
   * file before forking, and workers that each removed one would take each other's for stale.
   */
  replaceStale?: boolean;
}

/**
 * Run `attempt` (which listens on `target`, or throws as the runtime does); once more after
 * removing a stale socket file. Rejects with `listenError`'s message.
 */
export async function bindTo<T>(protocol: string, target: ListenTarget, attempt: () => T | Promise<T>, options: BindOptions = {}): Promise<T> {
  try {
    return await attempt();
  } catch (err) {
    if (options.replaceStale === false || !(await clearedStaleSocket(target, err))) throw listenError(protocol, target, err);
  }
  try {
    return await attempt();
  } catch (err) {
    throw listenError(protocol, target, err);
  }
}

/** `cannot listen on ADDR: what happened and what to do`, with the runtime's error as its cause. */
export function listenError(protocol: string, target: ListenTarget, err: unknown): Error {
  return new Error(`cannot listen on ${formatTarget(protocol, target)}: ${explain(err, target)}`, { cause: err });
}

function explain(err: unknown, target: ListenTarget): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  const path = "path" in target ? target.path : null;
  // libuv reports a missing folder as EACCES (as on Windows), so look for ourselves.
  if (path !== null && (code === "EACCES" || code === "ENOENT") && !existsSync(dirname(path))) return "the socket's folder does not exist";
  switch (code) {
    case "EADDRINUSE":
      if (path === null) return "the address is already in use (another server runs there?)";
      return isSocket(path)
        ? "another server is listening on this socket (stop it, or give another path)"
        : "the path exists and is not a socket (move the file away, or give another path)";
    case "EACCES":
    case "EPERM":
      return path !== null
        ? "permission denied (this user needs write access to the socket's folder)"
        : "permission denied (ports below 1024 need privileges)";
    case "EADDRNOTAVAIL": return "no such local address on this machine";
    case "ENOTFOUND": return `cannot resolve host ${"host" in target ? target.host : ""}`;
    default: return typeof code === "string" ? `${code} (${message})` : message;
  }
}

/**
 * After a failed listen: true when `err` says a unix socket path is in use by a socket file
 * nobody answers on (its process died), which is now removed so that listening again can work.
 * A live socket, and any file that is not a socket, stay as they are.
 */
export async function clearedStaleSocket(target: ListenTarget, err: unknown): Promise<boolean> {
  if (!("path" in target) || (err as { code?: unknown } | null)?.code !== "EADDRINUSE") return false;
  return removeStaleSocket(target.path);
}

/** Remove `path` if it is a socket file nobody answers on; true if it is gone now. */
export async function removeStaleSocket(path: string): Promise<boolean> {
  if (!isSocket(path) || (await alive(path))) return false;
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") return false;
  }
  return true;
}

function isSocket(path: string): boolean {
  try {
    return lstatSync(path).isSocket();
  } catch {
    return false;
  }
}

/** How long a connect probe may take; a socket nobody listens on refuses at once. */
const PROBE_MS = 1000;

/**
 * Whether a server may be listening on unix socket `path`. Only a refusal (or the file gone)
 * means nobody is: a server whose backlog is full answers EAGAIN (Node) or leaves the connect
 * pending (Bun), one we may not connect to EACCES, and each is alive, its socket not ours to
 * remove.
 */
export function alive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    const done = (yes: boolean) => {
      clearTimeout(timer);
      probe.destroy();
      resolve(yes);
    };
    const timer = setTimeout(() => done(true), PROBE_MS);
    probe.once("connect", () => done(true));
    probe.once("error", (err: NodeJS.ErrnoException) => done(err.code !== "ECONNREFUSED" && err.code !== "ENOENT" || listening(path)));
  });
}

/**
 * Linux: whether a listening socket in this network namespace is bound to `path`
 * (/proc/net/unix: flag 0x10000 is SO_ACCEPTCON). Asked after a refused connect, because Bun
 * reports a listener whose backlog is full as ECONNREFUSED where Node and Deno say EAGAIN.
 * Where the table cannot be read, the refusal stands.
 */
function listening(path: string): boolean {
  let table: string;
  try {
    table = readFileSync("/proc/net/unix", "latin1");
  } catch {
    return false;
  }
  const full = resolve(path);
  for (const line of table.split("\n")) {
    const f = line.trim().split(/\s+/);
    // Num RefCount Protocol Flags Type St Inode Path
    if (f.length >= 8 && (parseInt(f[3], 16) & 0x10000) !== 0 && resolve(f.slice(7).join(" ")) === full) return true;
  }
  return false;
}

/**
 * The soft limit on open files, from /proc (Linux); null where it cannot be read. Read it when a
 * listener starts: once descriptors have run out, /proc cannot be opened either.
 */
export function openFilesLimit(): string | null {
  try {
    const m = /^Max open files\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "latin1"));
    return m === null ? null : m[1];
  } catch {
    return null;
  }
}

/**
 * Why accepting a connection failed, for a log line: the runtime's error, and when it is the
 * descriptor limit (EMFILE, ENFILE: a flood of idle connections, a leak) what to change.
 */
export function acceptError(err: unknown, limit: string | null): string {
  const code = (err as { code?: unknown } | null)?.code;
  const text = err instanceof Error ? err.message : String(err);
  if (code === "ENFILE" || /ENFILE|file table overflow/i.test(text)) return `${text}: the system is out of file descriptors (fs.file-max)`;
  if (code !== "EMFILE" && !/EMFILE|too many open files|os error 24/i.test(text)) return text;
  return `${text}: the process is out of file descriptors${limit === null ? "" : ` (its limit is ${limit})`}; raise it (ulimit -n, LimitNOFILE=) or lower the connections the server holds`;
}
