/**
 * Turn an app failure before its status went out into a response: in development an HTML page
 * with the error and its stack (Plack::Middleware::StackTrace, Hono's dev error page), in
 * production a plain `500 Internal Server Error` that reveals nothing. One log line either way.
 * A failure after the status went out cannot be turned into a page; it passes through, and the
 * server aborts the response (SPEC.md §9.5).
 */
import { SpecError } from "../headers.ts";
import type { Middleware } from "./types.ts";

export interface ErrorPageOptions {
  /** Show the error and stack. Default: `NODE_ENV === "development"`. Never enable in production. */
  dev?: boolean;
  /** Where the one log line goes. Default: stderr. */
  log?: (line: string) => void;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function errorPage(options: ErrorPageOptions = {}): Middleware {
  const dev = options.dev ?? (typeof process !== "undefined" && process.env?.NODE_ENV === "development");
  const log = options.log ?? ((l: string) => void process.stderr.write(`tsgi: ${l}\n`));
  return async (req, next) => {
    try {
      return await next(req);
    } catch (err) {
      const e = req.env;
      const what = err instanceof Error ? err.stack ?? `${err.name}: ${err.message}` : String(err);
      log(`${e.REQUEST_METHOD} ${e.REQUEST_URI ?? e.PATH_INFO}: app failed; answered 500: ${what}`);
      if (!dev) {
        return { status: 500, headers: [["content-type", "text/plain; charset=utf-8"]], body: ["Internal Server Error\n"] };
      }
      const title = err instanceof SpecError ? `Spec violation: ${err.rule}` : err instanceof Error ? err.name : "Error";
      const html = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>500 ${escapeHtml(title)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em}pre{background:#f6f6f6;padding:1em;overflow:auto}</style></head>
<body><h1>500 Internal Server Error</h1><h2>${escapeHtml(title)}</h2>
<p>${escapeHtml(e.REQUEST_METHOD)} ${escapeHtml(e.REQUEST_URI ?? e.PATH_INFO)}</p>
<pre>${escapeHtml(what)}</pre></body></html>
`;
      return { status: 500, headers: [["content-type", "text/html; charset=utf-8"], ["cache-control", "no-store"]], body: [html] };
    }
  };
}
