/**
 * Where a request came from, read off the Hono context on whatever carries Hono: tsgi itself
 * (c.env is the environ), @hono/node-server (c.env.incoming), Bun.serve (c.env is the server,
 * `requestIP`), Deno.serve (c.env is the handler info, `remoteAddr`). Hono's own `getConnInfo`
 * lives in a different module per runtime; this one function covers all four.
 */
import type { Context } from "hono";
import type { Endpoints } from "../web/request.ts";

interface NodeBindings { incoming: { socket: { remoteAddress?: string; remotePort?: number; localAddress?: string; localPort?: number } } }
interface BunLike { requestIP(r: Request): { address: string; port: number } | null }
interface DenoInfo { remoteAddr: { transport: string; hostname?: string; port?: number } }

/** The listener's and the peer's address for `c`; unknown parts are left out. */
export function endpointsOf(c: Context): Endpoints {
  const env = c.env as Record<string, unknown> | undefined;
  const at: Endpoints = { serverName: "localhost", serverPort: "" };
  if (env === undefined || env === null || typeof env !== "object") return at;
  if (typeof env["tsgi.version"] === "string") {
    at.serverName = String(env.SERVER_NAME ?? "localhost");
    at.serverPort = String(env.SERVER_PORT ?? "");
    if (typeof env.REMOTE_ADDR === "string") at.remoteAddr = env.REMOTE_ADDR;
    if (typeof env.REMOTE_PORT === "string") at.remotePort = env.REMOTE_PORT;
  } else if ("incoming" in env) {
    const s = (env as unknown as NodeBindings).incoming.socket;
    at.serverName = s.localAddress ?? "localhost";
    at.serverPort = s.localPort === undefined ? "" : String(s.localPort);
    at.remoteAddr = s.remoteAddress;
    at.remotePort = s.remotePort === undefined ? undefined : String(s.remotePort);
  } else if (typeof (env as Partial<BunLike>).requestIP === "function") {
    const ip = (env as unknown as BunLike).requestIP(c.req.raw);
    if (ip) {
      at.remoteAddr = ip.address;
      at.remotePort = String(ip.port);
    }
  } else if ("remoteAddr" in env) {
    const r = (env as unknown as DenoInfo).remoteAddr;
    if (r.transport === "tcp") {
      at.remoteAddr = r.hostname;
      at.remotePort = String(r.port);
    }
  }
  return at;
}
