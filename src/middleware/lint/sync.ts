/**
 * lint for sync apps (wsgiref.validate is the model): checks the environ the server built, and
 * wraps `startResponse`, `write`, `tsgi.input` and the returned body to check the app's side and
 * the server's handling of it (`close()` exactly once, `excInfo` rethrown).
 */
import { checkFinalStatus, parseStatus, SpecError, statusHasNoBody, validateHeaders } from "../../headers.ts";
import { syncApp } from "../../kind.ts";
import type { Chunk, Environ, Header, InputStream, ResponseBody, StartResponse, SyncApp, WriteFn } from "../../spec.ts";
import { checkEnviron } from "./environ.ts";

const encoder = new TextEncoder();

function chunkBytes(chunk: unknown): number {
  if (chunk instanceof Uint8Array) return chunk.length;
  if (typeof chunk === "string") return encoder.encode(chunk).length;
  throw new SpecError("chunk-type", `app: body chunks must be Uint8Array or string, got ${chunk === null ? "null" : typeof chunk}`);
}

/** Content-Length of a header list (checked as the core does), or -1. */
export function declaredLength(headers: readonly Header[]): number {
  let n = -1;
  for (const [name, value] of headers) {
    if (name.toLowerCase() !== "content-length") continue;
    const v = value.trim();
    if (!/^\d{1,15}$/.test(v)) throw new SpecError("content-length", `app: Content-Length ${JSON.stringify(value)} is not a non-negative integer`);
    if (n >= 0 && n !== Number(v)) throw new SpecError("content-length", "app: Content-Length given twice with different values");
    n = Number(v);
  }
  return n;
}

/** `tsgi.input` checked for input-eof: Uint8Array results, empty at the end, never past the length. */
function lintInput(input: InputStream): InputStream {
  let pos = 0;
  const check = (out: unknown, what: string): Uint8Array => {
    if (!(out instanceof Uint8Array)) throw new SpecError("input-eof", `server: tsgi.input.${what} returned ${typeof out}, not a Uint8Array`);
    pos += out.length;
    if (pos > input.length) throw new SpecError("input-eof", `server: tsgi.input gave more than its length of ${input.length} bytes`);
    return out;
  };
  const wrapped = {
    get length() {
      return input.length;
    },
    read: (size?: number) => check(input.read(size), "read()"),
    readLine: (limit?: number) => check(input.readLine(limit), "readLine()"),
    seek: (position: number) => {
      input.seek(position);
      pos = Math.max(0, Math.min(input.length, Math.floor(position)));
    },
    *[Symbol.iterator]() {
      for (let line = wrapped.readLine(); line.length > 0; line = wrapped.readLine()) yield line;
    },
  };
  return wrapped;
}

export function lintSync(app: SyncApp): SyncApp {
  return syncApp((environ: Environ, startResponse: StartResponse): ResponseBody => {
    checkEnviron(environ);
    const env: Environ = { ...environ, "tsgi.input": lintInput(environ["tsgi.input"]) };
    let called = false;
    let status = 0;
    let declared = -1;
    let produced = 0;
    let sent = false; // a non-empty chunk went to the server, so the headers are out
    const isHead = env.REQUEST_METHOD === "HEAD";

    const count = (chunk: unknown): number => {
      const n = chunkBytes(chunk);
      if (n === 0) return 0;
      if (!called) throw new SpecError("no-start-response", "app: body bytes before startResponse()");
      sent = true;
      if (statusHasNoBody(status) && !isHead) throw new SpecError("no-body-status", `app: a ${status} response has no body, but the app produced ${n} bytes`);
      produced += n;
      if (declared >= 0 && produced > declared && !isHead) {
        throw new SpecError("content-length-over", `app: produced ${produced} bytes, more than its Content-Length of ${declared}`);
      }
      return n;
    };

    const lintStart: StartResponse = (s, h, excInfo) => {
      const hasExc = excInfo !== undefined && excInfo !== null;
      if (called && !hasExc) throw new SpecError("start-response-twice", "app: startResponse() called a second time without excInfo");
      const [code] = parseStatus(s);
      checkFinalStatus(code);
      validateHeaders(h);
      const length = declaredLength(h);
      if (hasExc && sent) {
        startResponse(s, h, excInfo); // must rethrow excInfo: too late to change the status
        throw new SpecError("exc-info", "server: startResponse(excInfo) after the headers went out must throw excInfo");
      }
      const write: WriteFn = startResponse(s, h, excInfo);
      called = true;
      status = code;
      declared = length;
      if (typeof write !== "function") throw new SpecError("exc-info", "server: startResponse() must return a write function");
      return (chunk: Chunk) => {
        count(chunk);
        write(chunk);
      };
    };

    const body = app(env, lintStart) as unknown;
    if (body === null || body === undefined || typeof body === "string" || body instanceof Uint8Array
      || (typeof body === "object" && typeof (body as { then?: unknown }).then === "function")
      || (typeof body !== "object" && typeof body !== "function")
      || (!(Symbol.iterator in (body as object)) && !(Symbol.asyncIterator in (body as object)))) {
      throw new SpecError("body-iterable", "app: a sync app must return an iterable (an array, a generator) or an async iterable of chunks");
    }
    const finish = () => {
      if (!called) throw new SpecError("no-start-response", "app: the body ended without startResponse()");
      if (declared >= 0 && produced < declared && !isHead && !statusHasNoBody(status)) {
        throw new SpecError("content-length-short", `app: produced ${produced} bytes, less than its Content-Length of ${declared}`);
      }
    };
    if (Array.isArray(body)) {
      // An array keeps its known length (and its Content-Length): check it in place.
      for (const c of body) count(c);
      finish();
      return body as Chunk[];
    }
    return wrapBody(body as ResponseBody, count, finish);
  });
}

/** The body, iterated through checks; `close()` forwarded and checked to come exactly once. */
function wrapBody(body: ResponseBody, count: (c: unknown) => number, finish: () => void): ResponseBody {
  let closes = 0;
  const close = () => {
    if (++closes > 1) throw new SpecError("close-once", "server: close() called more than once");
    body.close?.();
  };
  const isAsync = Symbol.asyncIterator in body;
  const step = (r: IteratorResult<Chunk>): IteratorResult<Chunk> => {
    if (closes > 0) throw new SpecError("close-once", "server: the body was iterated after close()");
    if (r.done) finish();
    else count(r.value);
    return r;
  };
  if (isAsync) {
    return {
      [Symbol.asyncIterator]() {
        const it = (body as AsyncIterable<Chunk>)[Symbol.asyncIterator]();
        return {
          next: async () => step(await it.next()),
          return: async () => (await it.return?.()) ?? { done: true, value: undefined },
        };
      },
      close,
    };
  }
  return {
    [Symbol.iterator]() {
      const it = (body as Iterable<Chunk>)[Symbol.iterator]();
      return {
        next: () => step(it.next()),
        return: () => it.return?.() ?? { done: true, value: undefined },
      };
    },
    close,
  };
}
