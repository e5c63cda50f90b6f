#!/usr/bin/env cgi-run
// The bench's hello as a tsgi app in TypeScript, run by cgi-run from cgi-bin (warm cache).
import type { Environ, StartResponse } from "tsgi";

const BODY = "Hello, World!";

export default function hello(_environ: Environ, startResponse: StartResponse): string[] {
  startResponse("200 OK", [["Content-Type", "text/plain"], ["Content-Length", String(BODY.length)]]);
  return [BODY];
}
