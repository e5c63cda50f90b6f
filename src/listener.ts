/**
 * What every protocol listener (http, fastcgi, uwsgi) has in common, so that `tsgi serve` can
 * run several of them in one process over the same Gateway.
 */

/** A TCP address, a unix socket path, or an inherited listening socket (fd 0 for FastCGI). */
export type ListenTarget = { host: string; port: number } | { path: string } | { fd: number };

/** A started listener. */
export interface Listener {
  /** Printable address, e.g. `http://127.0.0.1:8000`, `fastcgi://unix:/run/app.sock`. */
  readonly url: string;
  /** Stop accepting; let in-flight requests finish for up to `graceMs`, then cut them. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Parse a CLI address: `HOST:PORT`, `:PORT` (127.0.0.1), `[::1]:PORT`, a unix socket path
 * (`/run/app.sock`, `./app.sock`, `unix:/run/app.sock`) or `fd:N`.
 * Throws an Error whose message says what a valid address looks like.
 */
export function parseListenTarget(text: string): ListenTarget {
  const s = text.trim();
  if (s.startsWith("unix:")) return { path: s.slice(5) };
  if (s.startsWith("/") || s.startsWith("./") || s.startsWith("../")) return { path: s };
  const fd = /^fd:(\d+)$/.exec(s);
  if (fd) return { fd: Number(fd[1]) };
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s);
  if (m) {
    const port = Number(m[3]);
    if (port > 65535) throw new Error(`bad address ${JSON.stringify(text)}: port ${port} is above 65535`);
    return { host: m[1] ?? (m[2] || "127.0.0.1"), port };
  }
  if (/^\d{1,5}$/.test(s)) return { host: "127.0.0.1", port: Number(s) };
  throw new Error(`bad address ${JSON.stringify(text)}: use HOST:PORT, :PORT, [IPv6]:PORT, a socket path such as /run/app.sock, or fd:N`);
}

/** Human-readable form of a target, with a protocol prefix. */
export function formatTarget(protocol: string, t: ListenTarget): string {
  if ("path" in t) return `${protocol}://unix:${t.path}`;
  if ("fd" in t) return `${protocol}://fd:${t.fd}`;
  return `${protocol}://${t.host.includes(":") ? `[${t.host}]` : t.host}:${t.port}`;
}

/**
 * A listener's graceful close: `gentle` stops accepting and settles once in-flight requests are
 * done; if it has not settled after `graceMs`, `force` cuts what is left, and the close ends
 * when `force` has (whether it succeeds or fails).
 */
export async function closeWithin(graceMs: number, gentle: () => PromiseLike<unknown> | unknown, force: () => PromiseLike<unknown> | unknown): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const forced = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      void Promise.resolve(force()).then(() => resolve(), () => resolve());
    }, graceMs);
  });
  await Promise.race([Promise.resolve(gentle()), forced]);
  clearTimeout(timer);
}
