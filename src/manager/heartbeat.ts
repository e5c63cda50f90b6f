/**
 * The master's watchdog: which worker has gone silent too long, and why. gunicorn's arbiter
 * compares each worker's heartbeat (a temp file's mtime) with --timeout; here the heartbeat is
 * an IPC message sent from a timer, so a worker whose event loop is blocked (a sync loop in the
 * app, a runaway regex) stops beating, while a busy but healthy one keeps beating between
 * requests.
 */

/** What the watchdog needs to know about a worker. */
export interface Watched {
  state: "booting" | "ready" | "retiring" | "stopping";
  /** When it was forked, became ready, last beat, was told to stop (ms, monotonic). */
  forkedAt: number;
  lastBeat: number;
  stopAt: number;
}

/** Watchdog limits, in ms. */
export interface Limits {
  /** --worker-timeout; 0: no heartbeat check. */
  timeoutMs: number;
  /** Longest start-up (loading and compiling the app, lifespan startup, binding). */
  bootMs: number;
  /** --graceful-timeout: a stopping worker gets this long, plus a margin, before SIGKILL. */
  graceMs: number;
}

/** Heartbeat period for a --worker-timeout: several beats per timeout, at most one a second. */
export function beatInterval(timeoutMs: number): number {
  return Math.max(20, Math.min(1000, Math.floor(timeoutMs / 4)));
}

/** Beyond --graceful-timeout, what a stopping worker gets to exit on its own (closing sockets, lifespan shutdown). */
const STOP_MARGIN_MS = 3000;

/** Why `w` must be killed now, or null. */
export function overdue(w: Watched, now: number, limits: Limits): string | null {
  switch (w.state) {
    case "booting":
      return now - w.forkedAt > limits.bootMs ? `did not start within ${fmt(limits.bootMs)}` : null;
    case "stopping":
      return now - w.stopAt > limits.graceMs + STOP_MARGIN_MS ? `still running ${fmt(now - w.stopAt)} after it was told to stop` : null;
    default:
      if (limits.timeoutMs > 0 && now - w.lastBeat > limits.timeoutMs) {
        return `timed out: no heartbeat for ${fmt(now - w.lastBeat)} (--worker-timeout ${limits.timeoutMs / 1000}; is its event loop blocked?)`;
      }
      return null;
  }
}

function fmt(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
