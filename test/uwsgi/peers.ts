/**
 * The uwsgi side of the peer tests: tsgi's uwsgi listener as a backend, uWSGI's HTTP router
 * (the front only uwsgi uses), and the skips every uwsgi front shares. nginx and Apache come
 * from test/support/peers.ts.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { backendAddr, front, frontDir, render, startBackend, type Front, type Setup } from "../support/peers.ts";
import { start } from "../support/process.ts";
import { ROOT, tsgiCommand } from "../support/runtime.ts";

/** Every front is tried over both transports, at / and under a mount. */
export const SETUPS: Setup[] = [
  { transport: "tcp", mount: "" },
  { transport: "tcp", mount: "/app" },
  { transport: "unix", mount: "" },
  { transport: "unix", mount: "/app" },
];

/** A unix socket cannot be reset: a response without Content-Length cut short looks complete (any front). */
export function unixSkips(transport: "tcp" | "unix"): Record<string, string> {
  if (transport === "tcp") return {};
  return { "close-after-error": "over a unix socket a failed response without Content-Length cannot be marked incomplete (no RST on unix sockets; uwsgi responses end at the close)" };
}

/** tsgi serving `app` for a front server: `addr` is tsgi's --uwsgi address, `pass` nginx's uwsgi_pass form. */
export interface Backend {
  transport: "tcp" | "unix";
  addr: string;
  pass: string;
}

/** Start `tsgi serve APP --uwsgi` (app: repo-relative .ts, optionally `:export`) over TCP or a unix socket in `dir`. */
export async function backend(dir: string, transport: "tcp" | "unix", app: string, mount?: string): Promise<Backend> {
  const addr = await backendAddr(dir, transport);
  // Apache's workers run as www-data (when the tests run as root): the socket must be writable for them.
  const args = [...(mount ? ["--mount", mount] : []), ...(transport === "unix" ? ["--socket-mode", "666"] : [])];
  await startBackend(tsgiCommand(["serve", join(ROOT, app), "--uwsgi", addr, ...args]), addr);
  return { transport, addr, pass: transport === "tcp" ? addr : `unix:${addr}` };
}

/** uWSGI's HTTP router with examples/deploy/uwsgi-http-router.ini; its log is its output. */
export async function startRouter(bin: string, dir: string, backend: string): Promise<Front> {
  const { port, path } = await frontDir(dir, "router");
  writeFileSync(join(path, "router.ini"), render("uwsgi-http-router.ini", { LISTEN: `127.0.0.1:${port}`, BACKEND: backend }));
  return front("uwsgi", start(bin, ["--ini", join(path, "router.ini")]), port);
}
