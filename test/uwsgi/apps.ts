/**
 * Apps the uwsgi tests serve, in-process or through a real front server. Routes by PATH_INFO:
 *   /stream        three chunks, no Content-Length (the close must end the response)
 *   /slow-stream   three chunks 250 ms apart, with X-Accel-Buffering: no (nginx streams it)
 *   /early         answers without reading the request body (the listener must drain it)
 *   /status/NNN    that status, empty body
 *   /big/N         (sync) N bytes of "x" in one chunk, with Content-Length
 *   /slow-read     (async) takes one body chunk, waits 600 ms, then reads the rest
 *   anything else  JSON: the CGI keys of environ, the body's length and sha256
 */
import { createHash } from "node:crypto";
import type { AsyncApp, Environ, Header, HttpScope, StartResponse, SyncApp } from "../../src/index.ts";

const enc = new TextEncoder();

function cgiKeys(environ: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(environ).sort()) if (typeof environ[k] === "string" && !k.includes(".")) out[k] = environ[k] as string;
  return out;
}

/** The sync echo app: environ and body digest as JSON. */
export const echo: SyncApp = (environ: Environ, startResponse: StartResponse) => {
  const path = environ.PATH_INFO;
  if (path === "/stream") {
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    return (function* () {
      yield "one\n";
      yield "two\n";
      yield "three\n";
    })();
  }
  if (path === "/slow-stream") {
    startResponse("200 OK", [["Content-Type", "text/plain"], ["X-Accel-Buffering", "no"]]);
    return (async function* () {
      for (let i = 0; i < 3; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 250));
        yield `${i}\n`;
      }
    })();
  }
  if (path === "/early") {
    startResponse("202 Accepted", [["Content-Type", "text/plain"], ["Content-Length", "6"]]);
    return ["early\n"];
  }
  if (path.startsWith("/status/")) {
    startResponse(`${path.slice(8)} Custom`, [["X-Status", path.slice(8)]]);
    return [];
  }
  if (path.startsWith("/big/")) {
    const n = Number(path.slice(5));
    startResponse("200 OK", [["Content-Type", "text/plain"], ["Content-Length", String(n)]]);
    return [new Uint8Array(n).fill(120)];
  }
  const body = environ["tsgi.input"].read();
  const json = JSON.stringify({
    env: cgiKeys(environ),
    bodyLength: body.length,
    bodySha256: createHash("sha256").update(body).digest("hex"),
  });
  const headers: Header[] = [["Content-Type", "application/json"], ["Set-Cookie", "a=1"], ["Set-Cookie", "b=2"]];
  startResponse("200 OK", headers);
  return [json];
};

/** The async echo app: same JSON, body read through receive() chunk by chunk. */
export const echoAsync: AsyncApp = async (scope, receive, send) => {
  if (scope.type !== "http") return;
  const s = scope as HttpScope;
  const hash = createHash("sha256");
  let length = 0;
  let chunks = 0;
  let slow = s.path.endsWith("/slow-read");
  for (;;) {
    const ev = await receive();
    if (ev.type !== "http.request") return;
    hash.update(ev.body);
    length += ev.body.length;
    if (ev.body.length > 0) chunks++;
    if (slow && chunks === 1) {
      slow = false;
      await new Promise((r) => setTimeout(r, 600));
    }
    if (!ev.more_body) break;
  }
  const env = (s.extensions as { environ: Record<string, unknown> }).environ;
  const body = enc.encode(JSON.stringify({ env: cgiKeys(env), path: s.path, rootPath: s.root_path, bodyLength: length, bodySha256: hash.digest("hex"), chunks }));
  await send({ type: "http.response.start", status: 200, headers: [["content-type", "application/json"]] });
  await send({ type: "http.response.body", body: body.subarray(0, 10), more_body: true });
  await send({ type: "http.response.body", body: body.subarray(10), more_body: false });
};

/** The bench hello app: 13 bytes, with Content-Length, like anchors/hello_wsgi.py. */
export const hello: SyncApp = (_environ, startResponse) => {
  startResponse("200 OK", [["Content-Type", "text/plain"], ["Content-Length", "13"]]);
  return [HELLO];
};
const HELLO = enc.encode("Hello, World!");
