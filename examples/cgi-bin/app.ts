#!/usr/bin/env cgi-run
// A tsgi app that runs from cgi-bin with no build step (docs/cgi.md): make this file
// executable (chmod 755), put cgi-run on the web server's PATH, and request /cgi-bin/app.ts.
// Any app kind works here; this one is a sync (WSGI-style) app.
import type { Environ, StartResponse } from "tsgi";

export default function app(environ: Environ, startResponse: StartResponse) {
  const body = `Hello from tsgi under CGI! You asked for ${JSON.stringify(environ.PATH_INFO)}\n`;
  startResponse("200 OK", [["Content-Type", "text/plain; charset=utf-8"]]);
  return [body];
}
