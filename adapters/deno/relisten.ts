/**
 * Deno.serve stops for good when accepting a connection fails: with the process out of file
 * descriptors (EMFILE, e.g. a flood of idle connections), its accept loop ends, `finished`
 * rejects, and the listening socket is closed (Deno 2.9; unhandled, the rejection kills the
 * process). Connections already accepted are still served. So the listener starts a new
 * Deno.serve on the same address, after a pause that doubles while binding keeps failing (the
 * descriptors may still be short), and says so in one log line: the server keeps serving, and
 * the person reading the log learns what ran out. Node's libuv and Bun survive the same flood
 * on their own (they keep accepting once descriptors are free).
 */
import { acceptError, openFilesLimit } from "../../src/bind.ts";

/** What the listener needs of a Deno.serve server here. */
export interface Served {
  readonly finished: Promise<void>;
  shutdown(): Promise<void>;
}

export interface Relisten<S extends Served> {
  /** Every server that may still have connections: the current one and any that failed. */
  readonly servers: Set<S>;
  /** Stop watching: the listener is closing, a failure from now on is expected. */
  stop(): void;
}

const FIRST_PAUSE_MS = 10;
const MAX_PAUSE_MS = 1000;

/**
 * Watch `first`; when its accept loop fails, call `start` (which binds the same address again)
 * until it succeeds, then watch the new server. `where` names the address in the log line.
 */
export function relisten<S extends Served>(first: S, start: () => Promise<S>, where: string, log: (line: string) => void): Relisten<S> {
  const servers = new Set<S>([first]);
  // Read now: when it is needed the process has no descriptor left to open /proc with.
  const limit = openFilesLimit();
  let stopped = false;
  const watch = (server: S) => {
    server.finished.catch((err: unknown) => {
      if (stopped) return;
      log(`${where}: accepting connections failed: ${acceptError(err, limit)}; listening again`);
      void again(FIRST_PAUSE_MS, true);
    });
  };
  const again = async (pause: number, firstTry: boolean): Promise<void> => {
    await new Promise((resolve) => setTimeout(resolve, pause));
    if (stopped) return;
    try {
      const server = await start();
      if (stopped) return void server.shutdown();
      servers.add(server);
      watch(server);
    } catch (err) {
      // One line for a bind that keeps failing, not one per try.
      if (firstTry) log(`${where}: listening again failed: ${err instanceof Error ? err.message : String(err)}; retrying every ${MAX_PAUSE_MS / 1000} s`);
      return again(Math.min(pause * 2, MAX_PAUSE_MS), false);
    }
  };
  watch(first);
  return { servers, stop: () => void (stopped = true) };
}
