/**
 * The runtime-neutral half of every adapter's `serve()`: lifespan startup, one listener per
 * address over one Gateway, and a graceful stop (on demand or on SIGTERM/SIGINT) that lets
 * in-flight requests finish and then runs lifespan shutdown. An adapter supplies `listen`.
 */
import { Gateway, type GatewayOptions } from "./gateway.ts";
import { Lifespan } from "./lifespan.ts";
import type { Listener, ListenTarget } from "./listener.ts";
import type { App } from "./spec.ts";

/** What every adapter's `serve()` takes besides the listener's own options. */
export interface ServeOptions extends GatewayOptions {
  /** One or more addresses; default 127.0.0.1:8000. Port 0 picks a free port. */
  listen?: ListenTarget | ListenTarget[];
  /** Seconds in-flight requests get to finish on stop. Default 30. */
  gracefulTimeout?: number;
  /** Stop gracefully on SIGTERM/SIGINT, then exit. Default false. */
  handleSignals?: boolean;
}

/** A running server: its addresses and a graceful stop (which also runs lifespan shutdown). */
export interface RunningServer {
  /** Printable addresses, e.g. `http://127.0.0.1:8000` or `http://unix:/run/app.sock`. */
  readonly urls: string[];
  /** Stop accepting, let in-flight requests finish (up to gracefulTimeout), run lifespan shutdown. */
  close(): Promise<void>;
}

/** An adapter's listener: start serving `gateway` on `target`. */
export type ListenFn<O> = (gateway: Gateway, target: ListenTarget, options: O) => Promise<Listener>;

/** Serve `app` with `listen` on every address in `options.listen`; resolves once all listen. */
export async function serveWith<O extends ServeOptions>(listen: ListenFn<O>, app: App, options: O): Promise<RunningServer> {
  const log = options.log ?? ((l: string) => process.stderr.write(`tsgi: ${l}\n`));
  const lifespan = new Lifespan(app, log);
  await lifespan.startup();
  const gateway = new Gateway(app, { ...options, log, state: lifespan.state });
  const targets = options.listen === undefined ? [{ host: "127.0.0.1", port: 8000 }] : ([] as ListenTarget[]).concat(options.listen);
  const listeners: Listener[] = [];
  try {
    for (const t of targets) listeners.push(await listen(gateway, t, options));
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close(0)));
    throw err;
  }
  const grace = (options.gracefulTimeout ?? 30) * 1000;
  let closing: Promise<void> | null = null;
  const close = () => (closing ??= Promise.all(listeners.map((l) => l.close(grace))).then(() => lifespan.shutdown()));
  if (options.handleSignals) {
    const onSignal = (sig: string) => {
      log(`${sig}: no new connections; finishing in-flight requests (up to ${grace / 1000} s), then exiting`);
      close().then(() => process.exit(0), () => process.exit(1));
    };
    process.once("SIGTERM", () => onSignal("SIGTERM"));
    process.once("SIGINT", () => onSignal("SIGINT"));
  }
  return { urls: listeners.map((l) => l.url), close };
}
