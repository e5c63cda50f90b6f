/**
 * One access-log line per request, in Apache's combined format, written when the body has been
 * sent (or abandoned): `host - user [time] "request" status bytes "referer" "user-agent"`.
 * The body is passed through chunk by chunk (counted, never buffered).
 */
import type { Chunk } from "../spec.ts";
import { getHeader } from "./headers.ts";
import type { Middleware, Req, ResBody } from "./types.ts";

export interface AccessLogOptions {
  /** Where lines go. Default: stdout. */
  write?: (line: string) => void;
  /** Append the time taken, in milliseconds (` 1.2ms`). Default false. */
  duration?: boolean;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n: number) => (n < 10 ? "0" : "") + n;

/** `10/Oct/2000:13:55:36 +0000` (UTC). */
export function clfDate(d: Date): string {
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** Quote a header for the log: no raw quotes, backslashes or control bytes (log injection). */
function quote(v: string | undefined): string {
  if (v === undefined) return "-";
  return v.replace(/[\\"\x00-\x1f\x7f-\xff]/g, (c) => "\\x" + c.charCodeAt(0).toString(16).padStart(2, "0"));
}

function byteLength(c: Chunk): number {
  return typeof c === "string" ? new TextEncoder().encode(c).length : c.length;
}

function line(req: Req, status: number, bytes: number, start: Date, ms: number, duration: boolean): string {
  const e = req.env;
  const user = e.REMOTE_USER ?? "-";
  const target = quote(e.REQUEST_URI ?? e.SCRIPT_NAME + e.PATH_INFO);
  const out = `${e.REMOTE_ADDR ?? "-"} - ${user} [${clfDate(start)}] "${quote(e.REQUEST_METHOD)} ${target} ${e.SERVER_PROTOCOL}" ${status} ${bytes === 0 ? "-" : bytes} "${quote(getHeader(req.headers, "referer"))}" "${quote(getHeader(req.headers, "user-agent"))}"`;
  return duration ? `${out} ${ms.toFixed(1)}ms` : out;
}

export function accessLog(options: AccessLogOptions = {}): Middleware {
  const write = options.write ?? ((l: string) => void process.stdout.write(l + "\n"));
  const duration = options.duration ?? false;
  return async (req, next) => {
    const start = new Date();
    const t0 = performance.now();
    let res;
    try {
      res = await next(req);
    } catch (err) {
      write(line(req, 500, 0, start, performance.now() - t0, duration));
      throw err;
    }
    const status = res.status;
    const inner: ResBody = res.body;
    async function* counted(): AsyncGenerator<Chunk> {
      let bytes = 0;
      try {
        for await (const c of inner) {
          bytes += byteLength(c);
          yield c;
        }
      } finally {
        write(line(req, status, bytes, start, performance.now() - t0, duration));
      }
    }
    if (Array.isArray(inner)) {
      // A known-length body stays an array, so it keeps its Content-Length.
      let bytes = 0;
      for (const c of inner as Chunk[]) bytes += byteLength(c);
      write(line(req, status, bytes, start, performance.now() - t0, duration));
      return res;
    }
    return { ...res, body: counted() };
  };
}
