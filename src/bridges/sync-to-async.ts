/**
 * Run a sync app as an async one (asgiref's WsgiToAsgi is the model), without its known faults:
 * headers go out with the first non-empty chunk, `write()` is provided, the body's `close()` is
 * called exactly once, and an abandoned iterator gets `return()`. It is the core's own sync
 * runner driven over `send` events, so a sync app behaves the same behind the bridge as on a
 * server. An app failure is rethrown, so the server (or an outer middleware) decides the 500.
 */
import { FileInput, MemoryInput, collectInput } from "../input.ts";
import { asyncApp } from "../kind.ts";
import { ClientDisconnected, ResponseWriter, type Log } from "../response.ts";
import { runSync } from "../run-sync.ts";
import { environFromScope, makeEnviron } from "../scope.ts";
import type { AsyncApp, ErrorStream, Receive, SyncApp } from "../spec.ts";
import { SendSink } from "./send-sink.ts";

/** How a sync app is run: syncToAsync's options, and middleware's HandlerOptions build on them. */
export interface SyncToAsyncOptions {
  /** A sync app's request body above this many bytes is kept in a temp file. Default 1 MiB. */
  spillThreshold?: number;
  /** Largest body passed to the app, in bytes; the server's own limit normally answers first. Default 1 GiB. */
  maxBody?: number;
  /** Where a body above spillThreshold is kept. Default: the OS temp folder. */
  tmpDir?: string;
  /** `tsgi.errors` for sync apps. Default: stderr. */
  errors?: ErrorStream;
  /** One-line diagnostics (Content-Length overruns). Default: stderr. */
  log?: Log;
  /** A sync app's `tsgi.multithread`. Default false. */
  multithread?: boolean;
  /** A sync app's `tsgi.multiprocess`. Default false. */
  multiprocess?: boolean;
  /** A sync app's `tsgi.run_once`. Default false. */
  runOnce?: boolean;
}

/** Thrown when the client left while the bridge was reading the request body. */
export class BodyDisconnected extends ClientDisconnected {
  constructor() {
    super();
    this.message = "client disconnected while sending the request body";
    this.name = "BodyDisconnected";
  }
}

/** The request body from `receive` events, as the core's BodySource. */
export async function* receiveBody(receive: Receive): AsyncGenerator<Uint8Array> {
  for (;;) {
    const e = await receive();
    if (e.type === "http.disconnect") throw new BodyDisconnected();
    if (e.type !== "http.request") throw new TypeError(`expected http.request, received ${e.type}`);
    if (e.body.length > 0) yield e.body;
    if (!e.more_body) return;
  }
}

const stderr: ErrorStream = { write: (text) => void process.stderr.write(text) };

/** Wrap a sync app as an async app. Lifespan scopes raise, so servers run it without lifespan. */
export function syncToAsync(app: SyncApp, options: SyncToAsyncOptions = {}): AsyncApp {
  const log = options.log ?? ((line: string) => void process.stderr.write(`tsgi: ${line}\n`));
  const errors = options.errors ?? stderr;
  return asyncApp(async (scope, receive, send) => {
    if (scope.type !== "http") throw new Error(`syncToAsync: a sync app has no ${scope.type} protocol`);
    const env = environFromScope(scope);
    const announced = env.CONTENT_LENGTH === undefined ? undefined : Number(env.CONTENT_LENGTH);
    const input: MemoryInput | FileInput = await collectInput(receiveBody(receive), {
      maxBody: options.maxBody ?? 1024 ** 3,
      spillThreshold: options.spillThreshold ?? 1024 * 1024,
      expected: announced !== undefined && Number.isSafeInteger(announced) ? announced : undefined,
      tmpDir: options.tmpDir,
    });
    if (env.CONTENT_LENGTH === undefined && input.length > 0) env.CONTENT_LENGTH = String(input.length);
    const environ = makeEnviron(env, {
      input,
      errors,
      multithread: options.multithread ?? false,
      multiprocess: options.multiprocess ?? false,
      runOnce: options.runOnce ?? false,
    });

    const sink = new SendSink(send);
    const label = `${env.REQUEST_METHOD} ${env.REQUEST_URI}`;
    const out = new ResponseWriter(sink, env.REQUEST_METHOD === "HEAD", log, label);
    let failure: { err: unknown } | null = null;
    try {
      await runSync(app, environ, out, log, label, (err) => (failure = { err }));
      await sink.flushed();
    } finally {
      if (input instanceof FileInput) input.dispose();
    }
    if (failure !== null) throw (failure as { err: unknown }).err;
    if (sink.aborted !== null) throw sink.aborted.reason;
  });
}
