/**
 * REMOTE_ADDR and REMOTE_PORT on Bun, asked of `server.requestIP` only when the app reads them.
 * Bun has no per-connection handle to cache the peer on, and requestIP costs ~0.9 µs per call
 * (a hello-world request costs ~8 µs of CPU in all; bench/suites/runtimes.sh). The two keys are
 * accessors that replace themselves with plain values on first read or write, so the environ
 * still lists, spreads and takes writes (a proxy-fix middleware setting REMOTE_ADDR) as usual.
 */
import type { CgiEnviron } from "../../src/index.ts";
import type { BunServer } from "./types.ts";

/** Make `env.REMOTE_ADDR`/`REMOTE_PORT` come from `srv.requestIP(request)` on first use. */
export function peerOnDemand(env: CgiEnviron, srv: BunServer, request: Request): void {
  let done = false;
  const settle = (): void => {
    if (done) return;
    done = true;
    const ip = srv.requestIP(request);
    // Bun answers null once the request is over: then the keys are absent, as on a unix socket.
    if (ip === null) {
      delete env.REMOTE_ADDR;
      delete env.REMOTE_PORT;
      return;
    }
    Object.defineProperty(env, "REMOTE_ADDR", { value: ip.address, writable: true, enumerable: true, configurable: true });
    Object.defineProperty(env, "REMOTE_PORT", { value: String(ip.port), writable: true, enumerable: true, configurable: true });
  };
  const accessor = (key: "REMOTE_ADDR" | "REMOTE_PORT"): PropertyDescriptor => ({
    get: () => {
      settle();
      return env[key];
    },
    set: (value: string) => {
      settle();
      Object.defineProperty(env, key, { value, writable: true, enumerable: true, configurable: true });
    },
    enumerable: true,
    configurable: true,
  });
  Object.defineProperty(env, "REMOTE_ADDR", accessor("REMOTE_ADDR"));
  Object.defineProperty(env, "REMOTE_PORT", accessor("REMOTE_PORT"));
}
