/**
 * The battery's reference app: one sync (WSGI-style) app whose routes cover every case. The
 * battery's cases are black-box: they only see what this app answers through a real server.
 *
 * Routes (matched on PATH_INFO's first segment; anything else answers the environ as JSON, so
 * path cases can use any path, as Plack::Test::Suite does):
 *   /echo            the request body back; X-Content-Length / X-Content-Type echo the environ
 *   /digest          {"length", "sha256"} of the body (for 5 MiB uploads)
 *   /lines           the body read through readLine()/read(n)/seek(), as JSON
 *   /query           QUERY_STRING as text (the cheap route for keep-alive loops)
 *   /status/NNN      that status; body "status NNN" unless the status has none
 *   /cookies/N       N Set-Cookie headers c0=0 .. c(N-1)=(N-1)
 *   /multi-header    X-Foo twice
 *   /stream/N/MS     N chunks "chunk i\n", MS ms apart (async iterable body)
 *   /empty-chunks    "", "a", "", "b", "" as a generator
 *   /unicode         non-ASCII text as string chunks
 *   /bytes           all 256 byte values
 *   /big/N           N bytes (pattern i & 255) as 64 KiB generator chunks; /big-array/N one array
 *   /sized/N         N pattern bytes with the app's own Content-Length (what HEAD should answer)
 *   /write           write() from startResponse, then an iterable
 *   /literal/NAME    fixed bodies: "crlf" (looks like headers), "newlines"
 *   /cl-long, /cl-short   an app that breaks its own Content-Length
 *   /throw/WHEN      WHEN = before | after-start | after-chunk
 *   /bad/WHAT        WHAT = crlf-value | bad-name | hop-by-hop | bad-status
 *   /exc-info        startResponse twice, the second with excInfo, before any output
 *   /close/MODE/ID   a body whose close() is recorded under ID (MODE = ok | throw | slow)
 *   /closed/ID       how many times close() ran for ID
 *
 * close() records live in memory, or in files under $TSGI_BATTERY_STATE when that is set, for
 * transports where every request is a new process (CGI).
 */
import { createHash } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Chunk, Environ, Header, ResponseBody, StartResponse } from "../../spec.ts";

const TEXT: Header = ["Content-Type", "text/plain; charset=utf-8"];
const JSON_TYPE: Header = ["Content-Type", "application/json"];

/** Text used by the `unicode` route, exported so cases compare against the same string. */
export const UNICODE_TEXT = ["Grüße, ", "naïve café — ", "日本語 ", "🎉✓"];

/** The body of `/literal/NAME`. */
export const LITERALS: Record<string, string> = {
  crlf: "Foo: Bar\r\n\r\nHello World",
  newlines: "Bar\nBaz",
};

const memoryCloses = new Map<string, number>();

function recordClose(id: string): void {
  const dir = process.env.TSGI_BATTERY_STATE;
  if (dir) appendFileSync(join(dir, `close-${id}`), "x");
  else memoryCloses.set(id, (memoryCloses.get(id) ?? 0) + 1);
}

function closeCount(id: string): number {
  const dir = process.env.TSGI_BATTERY_STATE;
  if (!dir) return memoryCloses.get(id) ?? 0;
  try {
    return readFileSync(join(dir, `close-${id}`)).length;
  } catch {
    return 0;
  }
}

/** Environ as JSON: strings as they are (byte strings), booleans, the version, and stand-ins for streams. */
export function environJson(environ: Environ, body: Uint8Array): string {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(environ)) {
    const v = environ[key];
    if (typeof v === "string" || typeof v === "boolean") out[key] = v;
    else if (key === "tsgi.version") out[key] = v;
    else if (key === "tsgi.input") out[key] = { length: (v as { length: number }).length, read: typeof (v as { read?: unknown }).read, readLine: typeof (v as { readLine?: unknown }).readLine };
    else if (key === "tsgi.errors") out[key] = { write: typeof (v as { write?: unknown }).write };
    else out[key] = `<${typeof v}>`;
  }
  out["battery.body"] = latin1(body);
  return JSON.stringify(out);
}

/** The CGI keys alone (no HTTP_*), for the HEAD variant. */
function cgiJson(environ: Environ): string {
  const out: Record<string, string> = {};
  for (const key of Object.keys(environ)) {
    const v = environ[key];
    if (typeof v === "string" && !key.startsWith("HTTP_")) out[key] = v;
  }
  return JSON.stringify(out);
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode.apply(null, b.subarray(i, i + 8192) as unknown as number[]);
  return s;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const safeId = (s: string | undefined): string => (s && /^[A-Za-z0-9_-]{1,64}$/.test(s) ? s : "invalid");

/** The reference sync app. */
export function referenceApp(environ: Environ, startResponse: StartResponse): ResponseBody {
  const path = environ.PATH_INFO;
  const parts = path.split("/"); // ["", route, arg1, arg2]
  const route = parts[1] ?? "";
  const input = environ["tsgi.input"];

  switch (route) {
    case "echo": {
      const body = input.read();
      startResponse("200 OK", [
        ["Content-Type", "application/octet-stream"],
        ["X-Content-Length", environ.CONTENT_LENGTH ?? "-"],
        ["X-Content-Type", environ.CONTENT_TYPE ?? "-"],
      ]);
      return [body];
    }
    case "digest": {
      const hash = createHash("sha256");
      let length = 0;
      for (let b = input.read(1000); b.length > 0; b = input.read(65536)) {
        hash.update(b);
        length += b.length;
      }
      startResponse("200 OK", [JSON_TYPE]);
      return [JSON.stringify({ length, sha256: hash.digest("hex"), contentLength: environ.CONTENT_LENGTH ?? null })];
    }
    case "lines": {
      const out: string[] = [];
      out.push(latin1(input.readLine()), latin1(input.readLine()), latin1(input.read(3)), latin1(input.read()), latin1(input.read()));
      input.seek(0);
      out.push(latin1(input.read()));
      startResponse("200 OK", [JSON_TYPE]);
      return [JSON.stringify(out)];
    }
    case "query":
      startResponse("200 OK", [TEXT]);
      return [environ.QUERY_STRING];
    case "status": {
      const code = Number(parts[2]);
      const reason = STATUS_TEXT[code] ?? "Whatever";
      const headers: Header[] = code === 304 || code === 204 ? [] : [TEXT];
      if (code >= 300 && code < 400 && code !== 304) headers.push(["Location", "/elsewhere"]);
      startResponse(`${code} ${reason}`, headers);
      return code === 204 || code === 304 ? [] : [`status ${code}`];
    }
    case "cookies": {
      const n = Number(parts[2]);
      const headers: Header[] = [TEXT];
      for (let i = 0; i < n; i++) headers.push(["Set-Cookie", `c${i}=${i}; Path=/`]);
      startResponse("200 OK", headers);
      return ["cookies"];
    }
    case "multi-header":
      startResponse("200 OK", [TEXT, ["X-Foo", "foo"], ["X-Foo", "bar, baz"]]);
      return ["ok"];
    case "stream":
      startResponse("200 OK", [TEXT]);
      return stream(Number(parts[2]), Number(parts[3] ?? 0));
    case "empty-chunks":
      startResponse("200 OK", [TEXT]);
      return (function* () {
        yield "";
        yield "a";
        yield new Uint8Array(0);
        yield "b";
        yield "";
      })();
    case "unicode":
      startResponse("200 OK", [TEXT]);
      return (function* () {
        yield* UNICODE_TEXT;
      })();
    case "bytes": {
      const b = new Uint8Array(256);
      for (let i = 0; i < 256; i++) b[i] = i;
      startResponse("200 OK", [["Content-Type", "application/octet-stream"]]);
      return [b];
    }
    case "big":
    case "big-array": {
      const n = Number(parts[2]);
      startResponse("200 OK", [["Content-Type", "application/octet-stream"]]);
      if (route === "big-array") return [pattern(0, n)];
      return (function* () {
        for (let off = 0; off < n; off += 65536) yield pattern(off, Math.min(65536, n - off));
      })();
    }
    case "sized": {
      const n = Number(parts[2]);
      startResponse("200 OK", [["Content-Type", "application/octet-stream"], ["Content-Length", String(n)]]);
      return [pattern(0, n)];
    }
    case "write": {
      const write = startResponse("200 OK", [TEXT]);
      write("a");
      write(new TextEncoder().encode("b"));
      return ["c", "d"];
    }
    case "literal":
      startResponse("200 OK", [TEXT]);
      return [LITERALS[parts[2]] ?? ""];
    case "cl-long":
      startResponse("200 OK", [TEXT, ["Content-Length", "5"]]);
      return (function* () {
        yield "12345";
        yield "67890";
      })();
    case "cl-short":
      startResponse("200 OK", [TEXT, ["Content-Length", "10"]]);
      return (function* () {
        yield "12345";
      })();
    case "throw":
      return thrower(parts[2], startResponse);
    case "bad":
      return bad(parts[2], startResponse);
    case "exc-info": {
      startResponse("200 OK", [TEXT]);
      try {
        throw new Error("something went wrong after startResponse");
      } catch (err) {
        startResponse("503 Service Unavailable", [TEXT, ["X-Exc-Info", "1"]], err);
        return ["recovered"];
      }
    }
    case "close":
      return closing(parts[2], safeId(parts[3]), startResponse);
    case "closed":
      startResponse("200 OK", [TEXT]);
      return [String(closeCount(safeId(parts[2])))];
    default: {
      const body = input.read();
      const headers: Header[] = [JSON_TYPE, ["X-Request-Method", environ.REQUEST_METHOD]];
      // A HEAD response has no body, so the CGI keys travel base64-encoded in a header instead.
      if (environ.REQUEST_METHOD === "HEAD") headers.push(["X-Environ", btoa(latin1(new TextEncoder().encode(cgiJson(environ))))]);
      startResponse("200 OK", headers);
      return [environJson(environ, body)];
    }
  }
}

const STATUS_TEXT: Record<number, string> = {
  200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 301: "Moved Permanently", 302: "Found",
  303: "See Other", 304: "Not Modified", 307: "Temporary Redirect", 400: "Bad Request", 403: "Forbidden",
  404: "Not Found", 410: "Gone", 418: "I'm a Teapot", 500: "Internal Server Error", 503: "Service Unavailable",
};

/** Bytes `(offset + i) & 255`, so any slice of a big body can be checked. */
export function pattern(offset: number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (offset + i) & 255;
  return b;
}

async function* stream(n: number, ms: number): AsyncGenerator<Chunk> {
  for (let i = 0; i < n; i++) {
    if (i > 0 && ms > 0) await sleep(ms);
    yield `chunk ${i}\n`;
  }
}

function thrower(when: string | undefined, startResponse: StartResponse): ResponseBody {
  if (when === "before") throw new Error("battery: thrown before startResponse");
  startResponse("200 OK", [TEXT]);
  if (when === "after-start") {
    return (function* () {
      yield "";
      throw new Error("battery: thrown after startResponse, before any byte");
    })();
  }
  return (function* () {
    yield "first chunk\n";
    throw new Error("battery: thrown after the first chunk");
  })();
}

function bad(what: string | undefined, startResponse: StartResponse): ResponseBody {
  switch (what) {
    case "crlf-value":
      startResponse("200 OK", [TEXT, ["X-Bad", "a\r\nX-Injected: 1"]]);
      break;
    case "bad-name":
      startResponse("200 OK", [TEXT, ["Bad Name", "x"]]);
      break;
    case "hop-by-hop":
      startResponse("200 OK", [TEXT, ["Transfer-Encoding", "chunked"]]);
      break;
    default:
      startResponse("200", [TEXT]);
  }
  return ["should not be sent"];
}

/** A body object with close(); MODE ok: two chunks; throw: fails after one; slow: 1 chunk / 20 ms for up to 10 s. */
function closing(mode: string | undefined, id: string, startResponse: StartResponse): ResponseBody {
  startResponse("200 OK", [TEXT]);
  let i = 0;
  const body = {
    [Symbol.asyncIterator]() {
      return {
        async next(): Promise<IteratorResult<Chunk>> {
          i++;
          if (mode === "throw" && i === 2) throw new Error("battery: body failed after one chunk");
          if (mode === "slow") {
            if (i > 500) return { done: true, value: undefined };
            if (i > 1) await sleep(20);
            return { done: false, value: `tick ${i}\n` };
          }
          return i <= 2 ? { done: false, value: `part ${i}\n` } : { done: true, value: undefined };
        },
      };
    },
    close() {
      recordClose(id);
    },
  };
  return body;
}

export default referenceApp;
