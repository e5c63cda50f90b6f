/**
 * REMOTE_ADDR and REMOTE_PORT asked of the runtime only when the app reads them. Neither Bun nor
 * Deno has a per-connection handle to cache the peer on: Bun's `server.requestIP(request)` cost
 * ~2.8k instructions per request and Deno's `info.remoteAddr` ~1.4k (an op each time; callgrind,
 * bench/suites/runtimes.sh's hello, raw servers at ~21k and ~14k).
 *
 * The two keys are enumerable accessors, so the environ still lists, spreads and serialises
 * them, and takes writes (a proxy-fix middleware setting REMOTE_ADDR). The getter and setter
 * functions and their descriptors are shared by every request: V8 keys an object's hidden class
 * on its accessor functions, and fresh closures per request gave each environ a new one (Deno's
 * sync hello went from ~13.7 to ~19 µs of CPU per request, most of it GC). The per-request part
 * (where to ask, and the answer once asked) sits under a non-enumerable symbol key.
 */
import type { CgiEnviron } from "../../src/index.ts";

/** A TCP peer. */
export interface Peer {
  address: string;
  port: number;
}

interface Source {
  find: ((arg: never) => Peer | null) | null;
  arg: unknown;
  addr: string | undefined;
  port: string | undefined;
}

const SOURCE = Symbol("tsgi.peer");
type Env = CgiEnviron & { [SOURCE]: Source };

/** Ask once; null (Bun and Deno answer only while the request is live, and a unix socket has no peer): the keys go. */
function settle(env: Env): Source {
  const src = env[SOURCE];
  const find = src.find;
  if (find === null) return src;
  src.find = null;
  const peer = (find as (arg: unknown) => Peer | null)(src.arg);
  src.arg = undefined;
  if (peer === null) {
    delete env.REMOTE_ADDR;
    delete env.REMOTE_PORT;
  } else {
    src.addr ??= peer.address;
    src.port ??= String(peer.port);
  }
  return src;
}

/** A write after the keys went (no peer): a plain key again. */
function define(env: Env, key: string, value: string): void {
  Object.defineProperty(env, key, { value, writable: true, enumerable: true, configurable: true });
}

/** The accessor for one of the two keys: made once here, so every environ shares the same functions (a per-request closure would give each environ its own shape). */
function peerKey(key: "REMOTE_ADDR" | "REMOTE_PORT", field: "addr" | "port"): PropertyDescriptor {
  return {
    get(this: Env) {
      return settle(this)[field];
    },
    set(this: Env, value: string) {
      const src = settle(this);
      if (Object.hasOwn(this, key)) src[field] = value;
      else define(this, key, value);
    },
    enumerable: true,
    configurable: true,
  };
}

const ADDR = peerKey("REMOTE_ADDR", "addr");
const PORT = peerKey("REMOTE_PORT", "port");

/** Make `env.REMOTE_ADDR`/`REMOTE_PORT` come from `find(arg)` on first use; null from it: the keys are absent. */
export function peerOnDemand<A>(env: CgiEnviron, find: (arg: A) => Peer | null, arg: A): void {
  const src: Source = { find, arg, addr: undefined, port: undefined };
  Object.defineProperty(env, SOURCE, { value: src, writable: false, enumerable: false, configurable: true });
  Object.defineProperty(env, "REMOTE_ADDR", ADDR);
  Object.defineProperty(env, "REMOTE_PORT", PORT);
}
