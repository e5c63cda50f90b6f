/**
 * When a dead worker's replacement may start, and when to stop trying. A worker that dies at
 * start-up (before it serves, or within YOUNG_MS of it) will most likely die again, for the same
 * reason (a top-level throw or exit in the app, a missing environment variable): its replacement
 * waits, 0.1 s doubling up to 5 s, and after CRASH_LOOP such deaths in a row the master gives up
 * rather than spin (gunicorn halts on the first boot failure; Puma and systemd retry a few times).
 */

/** A worker that exits this soon after it started serving counts as failing at start-up. */
export const YOUNG_MS = 1000;
/** Start-up failures in a row after which the master gives up. */
export const CRASH_LOOP = 5;

export class Respawn {
  private failures = 0;
  /** Earliest time (ms, monotonic) the next worker may be forked. */
  nextAt = 0;

  /** Did a worker in `state`, serving since `readyAt`, die at start-up? */
  static young(state: string, readyAt: number, now: number): boolean {
    return state === "booting" || now - readyAt < YOUNG_MS;
  }

  /** Start-up failures in a row so far. */
  get count(): number {
    return this.failures;
  }

  /** Record a start-up death at `now`: the delay before the next fork in ms, or null to give up. */
  died(now: number): number | null {
    this.failures++;
    if (this.failures >= CRASH_LOOP) return null;
    const delay = Math.min(100 * 2 ** (this.failures - 1), 5000);
    this.nextAt = now + delay;
    return delay;
  }

  /** A worker has served past YOUNG_MS: start-up works again. */
  settled(): void {
    this.failures = 0;
  }

  /** Fork at once (a reload is asked for by a person, who wants it now). */
  clear(): void {
    this.nextAt = 0;
  }
}
