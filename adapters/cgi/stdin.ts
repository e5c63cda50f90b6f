/**
 * The request body on standard input (RFC 3875 §4.2): exactly CONTENT_LENGTH bytes and never
 * more (the server may leave extra data in the pipe), none when CONTENT_LENGTH is absent.
 *
 * One exception, checked against Apache 2.4: for a chunked request Apache's mod_cgi/mod_cgid
 * pipe the de-chunked body with no CONTENT_LENGTH, and `HTTP_TRANSFER_ENCODING: chunked`
 * tells the script so. Then the body is everything up to end of file.
 */
import { readSync } from "node:fs";
import type { BodySource, CgiParams } from "../../src/request.ts";

const CHUNK = 64 * 1024;

/** The body source for a CGI request, or null when it has none. */
export function stdinBody(params: CgiParams, fd = 0): BodySource {
  const cl = params.CONTENT_LENGTH || params.HTTP_CONTENT_LENGTH;
  if (cl !== undefined && cl !== "") {
    // A malformed value reaches the core, which answers 400 before reading the body.
    const n = /^\d{1,15}$/.test(cl) ? Number(cl) : 0;
    return n > 0 ? readFd(fd, n) : null;
  }
  const te = params.HTTP_TRANSFER_ENCODING;
  if (te !== undefined && te.toLowerCase().includes("chunked")) return readFd(fd, Infinity);
  return null;
}

/**
 * Read up to `limit` bytes from `fd`. Blocking reads are right for a process that serves one
 * request: there is nothing else for the event loop to do, and they cost no stream machinery
 * at start-up. A non-blocking descriptor (EAGAIN) falls back to the runtime's stdin stream.
 */
async function* readFd(fd: number, limit: number): AsyncGenerator<Uint8Array> {
  let left = limit;
  while (left > 0) {
    const buf = new Uint8Array(Math.min(CHUNK, left));
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EAGAIN" && fd === 0) {
        yield* readStream(left);
        return;
      }
      if ((err as NodeJS.ErrnoException).code === "EOF") return;
      throw err;
    }
    if (n === 0) return; // end of file: the core reports a body shorter than CONTENT_LENGTH
    left -= n;
    yield buf.subarray(0, n);
  }
}

async function* readStream(limit: number): AsyncGenerator<Uint8Array> {
  let left = limit;
  for await (const chunk of process.stdin as AsyncIterable<Uint8Array>) {
    const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
    left -= part.length;
    yield part;
    if (left <= 0) break;
  }
}
