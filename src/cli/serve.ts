/**
 * `tsgi serve`: load the app, run its lifespan startup, open every listener over one Gateway,
 * print what listens where, and stop gracefully on SIGTERM/SIGINT.
 */
import { readFileSync } from "node:fs";
import { Gateway } from "../gateway.ts";
import { Lifespan } from "../lifespan.ts";
import { formatTarget, type Listener, type ListenTarget } from "../listener.ts";
import type { App } from "../spec.ts";
import type { ServeArgs } from "./args.ts";
import { loadApp } from "./loader.ts";
import { fastcgiAdapter, httpAdapter, uwsgiAdapter, type ListenFn, type ListenOptions, type Runtime } from "./serve-adapters.ts";

/** A failure the user can fix (bad cert path, port in use): one line, exit status 1. */
export class ServeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ServeError";
  }
}

const log = (line: string) => process.stderr.write(`tsgi: ${line}\n`);

function readPem(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ServeError(`--${flag} ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** How a manager's worker (src/manager/worker.ts) runs serve(); the defaults are the single process's. */
export interface ServeHooks {
  /** Print the `serving ... on URL` lines (default true; the master prints them once instead). */
  announce?: boolean;
  /** Stop on SIGTERM/SIGINT (default true; a worker obeys its master instead). */
  handleSignals?: boolean;
  /** Wraps the loaded app before anything listens (a worker counts requests this way). */
  wrapApp?: (app: App) => App;
  /** Whose HTTP adapter serves --http (default: the runtime's own; workers may need node:http's). */
  httpRuntime?: Runtime;
}

/** A running `tsgi serve`. */
export interface Serving {
  listeners: Listener[];
  /** The app kind (`sync`, `async`, `fetch`). */
  kind: string;
  /** Stop accepting, let in-flight requests finish (up to --graceful-timeout), run lifespan shutdown. */
  close(): Promise<void>;
}

/** Run the server; resolves once everything listens. */
export async function serve(args: ServeArgs, hooks: ServeHooks = {}): Promise<Serving> {
  const loaded = await loadApp(args.app);
  const app = hooks.wrapApp ? hooks.wrapApp(loaded) : loaded;
  const options: ListenOptions = { log, timeout: args.timeout, socketMode: args.socketMode };
  if (args.certfile !== undefined && args.keyfile !== undefined) {
    options.tls = { cert: readPem("certfile", args.certfile), key: readPem("keyfile", args.keyfile) };
  }
  if (args.accessLog) options.accessLog = (line) => process.stdout.write(line + "\n");

  const lifespan = new Lifespan(app, log);
  try {
    await lifespan.startup();
  } catch (err) {
    throw new ServeError(`${args.app}: ${(err as Error).message}; not serving`);
  }
  const gateway = new Gateway(app, { maxBody: args.maxBody, mount: args.mount, log, state: lifespan.state });

  const plan: [string, () => Promise<ListenFn>, ListenTarget][] = [
    ...args.http.map((t) => ["http", () => httpAdapter(hooks.httpRuntime), t] as [string, () => Promise<ListenFn>, ListenTarget]),
    ...args.fastcgi.map((t) => ["fastcgi", fastcgiAdapter, t] as [string, () => Promise<ListenFn>, ListenTarget]),
    ...args.uwsgi.map((t) => ["uwsgi", uwsgiAdapter, t] as [string, () => Promise<ListenFn>, ListenTarget]),
  ];
  const listeners: Listener[] = [];
  for (const [protocol, adapter, target] of plan) {
    try {
      const listen = await adapter();
      // TLS is for HTTP only; the gateway protocols sit behind a front server that does TLS.
      listeners.push(await listen(gateway, target, protocol === "http" ? options : { ...options, tls: undefined }));
    } catch (err) {
      await Promise.all(listeners.map((l) => l.close(0)));
      const msg = (err as Error).message;
      throw new ServeError(msg.startsWith("cannot listen") ? msg : `cannot listen on ${formatTarget(protocol, target)}: ${msg}`);
    }
  }
  const kind = gateway.kind;
  if (hooks.announce !== false) announce(args, kind, listeners.map((l) => l.url));

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      await Promise.all(listeners.map((l) => l.close(args.gracefulTimeout * 1000)));
      await lifespan.shutdown();
    })());
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1) {
      log(`${sig} again: exiting now`);
      process.exit(1);
    }
    log(`${sig}: no new connections; in-flight requests get up to ${args.gracefulTimeout} s, then exit`);
    close().then(() => process.exit(0), (err) => {
      log(`shutdown failed: ${(err as Error).message}`);
      process.exit(1);
    });
  };
  if (hooks.handleSignals !== false) {
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  }
  return { listeners, kind, close };
}

/** The startup lines on stdout, one per listener (tests and scripts wait for them). */
export function announce(args: ServeArgs, kind: string, urls: string[]): void {
  for (const url of urls) process.stdout.write(`tsgi: serving ${args.app} (${kind} app${args.mount ? ` at ${args.mount}` : ""}) on ${url}\n`);
}
