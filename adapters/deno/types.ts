/**
 * The part of Deno's API this adapter uses, typed structurally so that the adapter compiles with
 * Node's tsc and type-checks under `deno check` alike.
 */

export type DenoAddr = { transport: "tcp" | "udp"; hostname: string; port: number } | { transport: "unix" | "unixpacket"; path: string };

/** The second argument of a Deno.serve handler. */
export interface DenoServeInfo {
  remoteAddr: DenoAddr;
  /** Settles when the response has been sent (or failed). */
  completed?: Promise<void>;
}

export interface DenoHttpServer {
  readonly addr: DenoAddr;
  readonly finished: Promise<void>;
  /** Stop accepting, let in-flight requests finish, then resolve. */
  shutdown(): Promise<void>;
}

export interface DenoServeOptions {
  port?: number;
  hostname?: string;
  path?: string;
  transport?: "tcp" | "unix";
  cert?: string;
  key?: string;
  signal?: AbortSignal;
  onListen?(addr: DenoAddr): void;
  onError?(error: unknown): Response | Promise<Response>;
}

export interface DenoGlobal {
  serve(options: DenoServeOptions, handler: (request: Request, info: DenoServeInfo) => Response | Promise<Response>): DenoHttpServer;
  readonly version: { deno: string };
}

/** `Deno`, or null when not running on Deno. */
export function denoGlobal(): DenoGlobal | null {
  return (globalThis as { Deno?: DenoGlobal }).Deno ?? null;
}
