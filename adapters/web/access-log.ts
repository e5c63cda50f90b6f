/**
 * Access log lines for the Fetch-API servers (Bun.serve, Deno.serve), in the same combined
 * format as tsgi/node's, so `--access-log` reads the same on every runtime.
 */
import type { HttpHead } from "../../src/index.ts";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n: number) => (n < 10 ? "0" + n : String(n));

function clfDate(d: Date): string {
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

function quote(s: string | null): string {
  return s === null || s === "" ? "\"-\"" : JSON.stringify(s);
}

/** `127.0.0.1 - - [date] "GET /x HTTP/1.1" 200 "referer" "agent" 0.4ms` (status "-" when none went out). */
export function accessLine(head: HttpHead, request: Request, status: number | null, ms: number): string {
  const line = JSON.stringify(`${head.method} ${head.target} HTTP/${head.httpVersion}`);
  return `${head.remoteAddr ?? "-"} - - [${clfDate(new Date())}] ${line} ${status ?? "-"} - ${quote(request.headers.get("referer"))} ${quote(request.headers.get("user-agent"))} ${ms.toFixed(1)}ms`;
}

/** Wrap a handler's result so that one access line is written when the Response is ready. */
export function logged(result: Response | Promise<Response>, head: HttpHead, request: Request, t0: number, log: (line: string) => void): Response | Promise<Response> {
  if (result instanceof Response) {
    log(accessLine(head, request, result.status, performance.now() - t0));
    return result;
  }
  return result.then((r) => {
    log(accessLine(head, request, r.status, performance.now() - t0));
    return r;
  }, (err) => {
    log(accessLine(head, request, null, performance.now() - t0));
    throw err;
  });
}
