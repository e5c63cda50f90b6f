/**
 * Request bodies for sync apps. A sync app reads `tsgi.input` synchronously, and JS cannot
 * block on a socket, so the server collects the body first: in memory up to a threshold, then
 * in an unlinked temporary file (so a 2 GiB upload costs 2 GiB of disk, not of heap).
 */
import { closeSync, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { InputStream } from "./spec.ts";
import type { BodySource } from "./request.ts";

const EMPTY: Uint8Array = new Uint8Array(0);

/** Thrown when a body exceeds the configured limit; servers answer 413. */
export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`request body exceeds the limit of ${limit} bytes (raise it with --max-body)`);
    this.name = "BodyTooLarge";
  }
}

/** Thrown when the peer sends less body than it announced; servers answer 400 or close. */
export class BodyIncomplete extends Error {
  constructor(readonly expected: number, readonly received: number) {
    super(`request body ended after ${received} of ${expected} announced bytes`);
    this.name = "BodyIncomplete";
  }
}

/** Reading state shared by both backings: position, readLine, seek. */
abstract class BaseInput implements InputStream {
  protected pos = 0;
  abstract readonly length: number;
  protected abstract copy(start: number, end: number): Uint8Array;
  protected abstract byteAt(i: number): number;

  read(size?: number): Uint8Array {
    const end = size === undefined || size < 0 ? this.length : Math.min(this.length, this.pos + Math.floor(size));
    if (end <= this.pos) return EMPTY;
    const out = this.copy(this.pos, end);
    this.pos = end;
    return out;
  }

  readLine(limit?: number): Uint8Array {
    const max = limit === undefined || limit < 0 ? this.length : Math.min(this.length, this.pos + Math.floor(limit));
    let end = this.pos;
    while (end < max) {
      if (this.byteAt(end++) === 10) break;
    }
    return this.read(end - this.pos);
  }

  seek(position: number): void {
    this.pos = Math.max(0, Math.min(this.length, Math.floor(position)));
  }

  /** Iterate lines, as Python's file objects do. */
  *[Symbol.iterator](): Iterator<Uint8Array> {
    for (let line = this.readLine(); line.length > 0; line = this.readLine()) yield line;
  }
}

/** A body held in memory. */
export class MemoryInput extends BaseInput {
  readonly length: number;
  constructor(private readonly bytes: Uint8Array) {
    super();
    this.length = bytes.length;
  }
  protected copy(start: number, end: number): Uint8Array {
    return this.bytes.slice(start, end);
  }
  protected byteAt(i: number): number {
    return this.bytes[i];
  }
}

/** A body in an unlinked temp file; `dispose()` closes it (the server calls it after the response). */
export class FileInput extends BaseInput {
  private lineBuf: Uint8Array = EMPTY;
  private lineBufAt = 0;
  constructor(private fd: number, readonly length: number) {
    super();
  }
  protected copy(start: number, end: number): Uint8Array {
    const out = new Uint8Array(end - start);
    let off = 0;
    while (off < out.length) {
      const n = readSync(this.fd, out, off, out.length - off, start + off);
      if (n <= 0) break;
      off += n;
    }
    return out;
  }
  protected byteAt(i: number): number {
    if (i < this.lineBufAt || i >= this.lineBufAt + this.lineBuf.length) {
      this.lineBufAt = i;
      this.lineBuf = this.copy(i, Math.min(this.length, i + 65536));
    }
    return this.lineBuf[i - this.lineBufAt];
  }
  dispose(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

export interface CollectOptions {
  /** Largest body accepted, in bytes. */
  maxBody: number;
  /** Bodies larger than this go to a temp file. */
  spillThreshold: number;
  /** The announced length, when the protocol has one; a shorter body is an error. */
  expected?: number;
  /** Where temp files go; defaults to the OS temp dir. */
  tmpDir?: string;
}

let tmpCounter = 0;

/** Read a whole body into a synchronous reader, spilling to disk past the threshold. */
export async function collectInput(body: BodySource, opts: CollectOptions): Promise<MemoryInput | FileInput> {
  if (body === null) return new MemoryInput(EMPTY);
  if (opts.expected !== undefined && opts.expected > opts.maxBody) throw new BodyTooLarge(opts.maxBody);
  const chunks: Uint8Array[] = [];
  let total = 0;
  let fd = -1;
  try {
    for await (let chunk of body) {
      if (opts.expected !== undefined && total + chunk.length > opts.expected) {
        // Bytes past Content-Length are not body (PEP 3333: simulate EOF there).
        chunk = chunk.subarray(0, opts.expected - total);
      }
      total += chunk.length;
      if (total > opts.maxBody) throw new BodyTooLarge(opts.maxBody);
      if (fd < 0 && total > opts.spillThreshold) {
        const path = join(opts.tmpDir ?? tmpdir(), `tsgi-body-${process.pid}-${++tmpCounter}-${Date.now()}`);
        fd = openSync(path, "wx+", 0o600);
        unlinkSync(path); // nothing to clean up later, even if the process dies
        for (const c of chunks) writeAll(fd, c);
        chunks.length = 0;
      }
      if (fd >= 0) writeAll(fd, chunk);
      else if (chunk.length > 0) chunks.push(chunk);
      // No `break` at the announced length: that would call return() on the source, and a
      // Node IncomingMessage destroys its socket then; the codec ends the body by itself.
    }
    if (opts.expected !== undefined && total < opts.expected) throw new BodyIncomplete(opts.expected, total);
  } catch (err) {
    if (fd >= 0) closeSync(fd);
    throw err;
  }
  if (fd >= 0) return new FileInput(fd, total);
  if (chunks.length === 1) return new MemoryInput(chunks[0]);
  const all = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return new MemoryInput(all);
}

function writeAll(fd: number, chunk: Uint8Array): void {
  let off = 0;
  while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
}

/** Wrap a body source so that it stops with BodyTooLarge past `limit` bytes. */
export async function* limitBody(body: AsyncIterable<Uint8Array>, limit: number): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > limit) throw new BodyTooLarge(limit);
    yield chunk;
  }
}
