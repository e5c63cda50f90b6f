/**
 * The FastCGI side of the peer tests: tsgi's FastCGI listener as a backend, and the front
 * servers only FastCGI uses (lighttpd, HAProxy), started like those in test/support/peers.ts.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { backendAddr, childEnv, front, frontDir, render, startBackend, type Front, type Setup } from "../support/peers.ts";
import { start } from "../support/process.ts";
import { ROOT, tsgiCommand } from "../support/runtime.ts";

/** The battery behind a front: at / over TCP, and under a mount over a unix socket. */
export const SETUPS: Setup[] = [{ transport: "tcp", mount: "" }, { transport: "unix", mount: "/app" }];

/**
 * `tsgi serve` for `app` (repo-relative .ts, optionally `:export`) over FastCGI on `addr`
 * (HOST:PORT or a socket path; undefined: the listening socket on fd 0), on the runtime under test.
 */
export function tsgiFastcgi(app: string, addr: string | undefined, extra: string[] = []): [string, string[]] {
  return tsgiCommand(["serve", join(ROOT, app), "--fastcgi", ...(addr ? [addr] : []), ...extra]);
}

/** Start a tsgi backend on TCP or a unix socket in `dir`: its address. */
export async function backend(dir: string, transport: "tcp" | "unix", app: string, extra: readonly string[] = []): Promise<{ addr: string; tcp: boolean }> {
  const addr = await backendAddr(dir, transport);
  // Apache's (and cgi-fcgi's) workers run as www-data: they need write permission on the socket.
  await startBackend(tsgiFastcgi(app, addr, transport === "unix" ? ["--socket-mode", "666", ...extra] : [...extra]), addr);
  return { addr, tcp: transport === "tcp" };
}

/** lighttpd (foreground) with examples/deploy/lighttpd-fastcgi.conf: it spawns tsgi itself. */
export async function startLighttpd(bin: string, dir: string, values: Record<string, string>): Promise<Front> {
  const { port, path } = await frontDir(dir, "lighttpd");
  const log = join(path, "error.log");
  writeFileSync(join(path, "fastcgi.conf"), render("lighttpd-fastcgi.conf", values));
  writeFileSync(join(path, "lighttpd.conf"), `server.document-root = "${path}"
server.bind = "127.0.0.1"
server.port = ${port}
server.errorlog = "${log}"
server.max-request-size = 102400
include "${join(path, "fastcgi.conf")}"
`);
  // The environment reaches the tsgi that lighttpd starts.
  return front("lighttpd", start(bin, ["-D", "-f", join(path, "lighttpd.conf")], { env: childEnv() }), port, log);
}

/** HAProxy (foreground) with examples/deploy/haproxy-fcgi.cfg; its log is its output. */
export async function startHaproxy(bin: string, dir: string, values: Record<string, string>): Promise<Front> {
  const { port, path } = await frontDir(dir, "haproxy");
  const cfg = render("haproxy-fcgi.cfg", { LISTEN: `127.0.0.1:${port}`, ...values }).replace("log-stderr global", "# log-stderr global");
  writeFileSync(join(path, "haproxy.cfg"), cfg);
  return front("haproxy", start(bin, ["-db", "-f", join(path, "haproxy.cfg")]), port);
}
