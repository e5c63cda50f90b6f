/**
 * The part of Bun's API this adapter uses, typed structurally so that the adapter compiles with
 * Node's tsc (no bun-types dependency) and runs unchanged on Bun.
 */

/** `server.requestIP(request)`: the peer of a TCP connection; null on a unix socket. */
export interface BunSocketAddress {
  address: string;
  port: number;
  family: string;
}

export interface BunServer {
  readonly port?: number;
  readonly hostname?: string;
  readonly pendingRequests: number;
  requestIP(request: Request): BunSocketAddress | null;
  /** Stop accepting; with `true` also cut active connections. Resolves when they are gone. */
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}

export interface BunServeOptions {
  port?: number;
  hostname?: string;
  unix?: string;
  idleTimeout?: number;
  maxRequestBodySize?: number;
  development?: boolean;
  tls?: { cert: string | Uint8Array; key: string | Uint8Array };
  fetch(request: Request, server: BunServer): Response | Promise<Response>;
  error?(error: Error): Response | Promise<Response>;
}

export interface BunGlobal {
  serve(options: BunServeOptions): BunServer;
  readonly version: string;
}

/** `Bun`, or null when not running on Bun. */
export function bunGlobal(): BunGlobal | null {
  return (globalThis as { Bun?: BunGlobal }).Bun ?? null;
}
