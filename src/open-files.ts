/**
 * A line in the log when the process runs out of file descriptors, and one when it has enough
 * again. Out of descriptors, Node's libuv takes each new connection with a spare descriptor it
 * keeps and closes it at once (so the backlog does not fill up), and Bun leaves them waiting in
 * the backlog; neither tells the program. A server under a flood of idle connections, or with a
 * descriptor leak, then turns clients away with no word in its log (test/runtimes/fd-limit.test.ts).
 *
 * So while a listener is open, once a second the process counts its descriptors (Linux; elsewhere
 * nothing is watched). Since Linux 6.2 the size of /proc/self/fd is that count: one stat, ~7 µs
 * whatever the number. Older kernels report 0 there, and the directory is listed instead, which
 * costs ~1 ms per 1000 descriptors: the next count then waits 200 times as long as this one
 * took (the watch keeps under 0.5% of the event loop). Failing to list it with EMFILE is itself
 * the answer "none left". One watch serves every listener of the process.
 */
import { readdirSync, statSync } from "node:fs";
import { openFilesLimit } from "./bind.ts";

/** How often the descriptors are counted at most, in ms. */
const PERIOD = 1000;
/** "Enough again": below this share of the limit. */
const BACK_BELOW = 0.8;

let holders = 0;
let timer: ReturnType<typeof setTimeout> | null = null;
let short = false;

/** How many descriptors are open: a number, "none" when not even /proc can be listed, null when it cannot be known. */
function openCount(): number | "none" | null {
  try {
    const size = statSync("/proc/self/fd").size;
    if (size > 0) return size;
    return readdirSync("/proc/self/fd").length - 1; // less the one the listing used
  } catch (err) {
    const code = (err as { code?: string }).code;
    return code === "EMFILE" || code === "ENFILE" ? "none" : null;
  }
}

/**
 * Watch the descriptors for as long as the returned function is not called (each listener
 * holds the watch while it is open). `log` gets the lines; the first holder's is used.
 */
export function watchOpenFiles(log: (line: string) => void): () => void {
  if (holders++ === 0) start(log);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holders === 0 && timer !== null) {
      clearTimeout(timer);
      timer = null;
      short = false;
    }
  };
}

function start(log: (line: string) => void): void {
  const text = openFilesLimit();
  const limit = text === null ? NaN : Number(text);
  // No limit to reach ("unlimited"), or no /proc to count in: nothing to watch.
  if (!(limit > 0) || openCount() === null) return;
  const check = () => {
    const t0 = performance.now();
    const n = openCount();
    if (n !== null && !short && (n === "none" || n >= limit - 1)) {
      short = true;
      log(`out of file descriptors (${limit} open, the process's limit): new connections are closed unanswered or left waiting until some are free; raise the limit (ulimit -n, LimitNOFILE=) or lower the connections the server holds`);
    } else if (n !== null && short && n !== "none" && n < limit * BACK_BELOW) {
      short = false;
      log(`file descriptors: ${n} of ${limit} open; connections are accepted again`);
    }
    if (holders === 0) return;
    timer = setTimeout(check, Math.max(PERIOD, (performance.now() - t0) * 200));
    timer.unref();
  };
  timer = setTimeout(check, PERIOD);
  timer.unref();
}
