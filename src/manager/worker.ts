/**
 * One worker of `tsgi serve --workers N`: the single-process server (src/cli/serve.ts, the same
 * Gateway code path), started by the master with node:cluster, so its listeners share the
 * master's sockets. It reports to the master over IPC: ready, heartbeats, a request budget spent,
 * or the one line that says why it cannot serve.
 *
 * It stops gracefully when the master says so, on SIGTERM (as gunicorn's workers), and when the
 * master is gone (the IPC channel closes), so that a killed master leaves no worker behind.
 * SIGINT is ignored: Ctrl-C in a terminal reaches the whole process group, and the master
 * decides for everyone.
 */
import type { ServeArgs } from "../cli/args.ts";
import { LoadError } from "../cli/loader.ts";
import { serve, ServeError, type Serving } from "../cli/serve.ts";
import { currentRuntime } from "../cli/serve-adapters.ts";
import { countingApp } from "./counting.ts";
import { workerHttpRuntime } from "./support.ts";
import { ENV_BEAT_MS, ENV_MAX_REQUESTS, ENV_WORKER, isTagged, type MasterMessage, type WorkerMessage } from "./messages.ts";

function send(m: WorkerMessage): void {
  if (process.connected) process.send!(m);
}

/** Run this process as a worker; resolves once it serves. */
export async function runWorker(args: ServeArgs): Promise<void> {
  const budget = Number(process.env[ENV_MAX_REQUESTS] ?? 0);
  const beatMs = Number(process.env[ENV_BEAT_MS] ?? 0);
  // Processes the app starts must not take themselves for tsgi workers.
  for (const k of [ENV_WORKER, ENV_MAX_REQUESTS, ENV_BEAT_MS]) delete process.env[k];
  let requests = 0;
  let asked = false;
  const onRequest = () => {
    if (++requests >= budget && !asked) {
      asked = true;
      send({ t: "recycle", requests });
    }
  };

  let serving: Serving;
  try {
    serving = await serve(args, {
      announce: false,
      handleSignals: false,
      wrapApp: budget > 0 ? (app) => countingApp(app, onRequest) : undefined,
      // Deno.serve cannot share the master's socket; Deno's node:http can (support.ts).
      httpRuntime: workerHttpRuntime(currentRuntime()),
    });
  } catch (err) {
    // The master prints this line (once, not once per worker) and decides whether to retry.
    const message = err instanceof LoadError || err instanceof ServeError ? err.message : err instanceof Error ? err.stack ?? err.message : String(err);
    if (!process.connected) process.exit(1);
    process.send!({ t: "fatal", message } satisfies WorkerMessage, () => process.exit(1));
    return;
  }

  let beat: ReturnType<typeof setInterval> | undefined;
  if (beatMs > 0) beat = setInterval(() => send({ t: "beat", requests }), beatMs);
  send({ t: "ready", kind: serving.kind, urls: serving.listeners.map((l) => l.url) });

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    serving.close().then(() => {
      if (beat !== undefined) clearInterval(beat);
      process.exit(0);
    }, (err) => {
      process.stderr.write(`tsgi: worker ${process.pid}: shutdown failed: ${(err as Error).message}\n`);
      process.exit(1);
    });
  };
  process.on("message", (m: unknown) => {
    if (isTagged(m) && (m as MasterMessage).t === "stop") stop();
  });
  process.on("disconnect", stop);
  process.on("SIGTERM", stop);
  process.on("SIGINT", () => {});
}
