/**
 * What the master and its workers say to each other over the cluster IPC channel. Plain JSON
 * objects with a `t` tag; anything else on the channel (node:cluster's own traffic) is ignored.
 */

/** Worker → master. */
export type WorkerMessage =
  /** Every listener is open: the worker takes requests. */
  | { t: "ready"; kind: string; urls: string[] }
  /** The worker's event loop turned (gunicorn's heartbeat file, over IPC): it is not blocked. */
  | { t: "beat"; requests: number }
  /** The worker served its --max-requests: replace it, then stop it gracefully. */
  | { t: "recycle"; requests: number }
  /** The worker cannot serve (bad app, address in use): the one line a person needs. */
  | { t: "fatal"; message: string };

/** Master → worker. */
export type MasterMessage =
  /** Stop accepting, finish in-flight requests within --graceful-timeout, exit 0. */
  { t: "stop" };

/** Environment variables the master sets for each worker it forks. */
export const ENV_WORKER = "TSGI_WORKER";
/** This worker's request budget (--max-requests plus its draw of jitter); absent: no limit. */
export const ENV_MAX_REQUESTS = "TSGI_MAX_REQUESTS";
/** Milliseconds between heartbeats; absent: no heartbeat (no --worker-timeout). */
export const ENV_BEAT_MS = "TSGI_BEAT_MS";

/** A message of ours (tagged), not node:cluster's internal traffic. */
export function isTagged(m: unknown): m is { t: string } {
  return typeof m === "object" && m !== null && typeof (m as { t?: unknown }).t === "string";
}
