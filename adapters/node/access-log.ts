/** The access log line: Apache's combined format (what log tools parse), plus the duration. */
import type { IncomingMessage, ServerResponse } from "node:http";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n: number) => (n < 10 ? "0" + n : String(n));

/** `[10/Oct/2000:13:55:36 +0000]`, always UTC. */
function clfDate(d: Date): string {
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** Quote a client-supplied field so that a log line cannot be split or forged (no raw CR/LF/"). */
function quote(s: string | undefined): string {
  if (s === undefined || s === "") return "\"-\"";
  return JSON.stringify(s);
}

/**
 * `127.0.0.1 - - [date] "GET /x HTTP/1.1" 200 123 "referer" "agent" 0.4ms`. The status is "-"
 * and the line ends in "aborted" when the connection went away before the response ended.
 */
export function accessLine(req: IncomingMessage, res: ServerResponse, bytes: number, ms: number): string {
  const h = req.headers;
  const request = JSON.stringify(`${req.method} ${req.url} HTTP/${req.httpVersion}`);
  const status = res.headersSent ? String(res.statusCode) : "-";
  const tail = res.writableFinished ? "" : " aborted";
  return `${req.socket.remoteAddress ?? "-"} - - [${clfDate(new Date())}] ${request} ${status} ${bytes} ${quote(h.referer)} ${quote(h["user-agent"])} ${ms.toFixed(1)}ms${tail}`;
}
