/**
 * Node only: serve a connection on the accepted libuv handle itself, without a net.Socket. Used
 * by the uwsgi listener (every connection) and the FastCGI listener (unix sockets).
 *
 * Why: uwsgi opens a connection per request, and so does FastCGI behind nginx unless
 * `fastcgi_keep_conn` is on; on Node a net.Socket (a Duplex stream with its state, listeners,
 * end/finish/close events) costs more CPU than everything else in the request: measured
 * through nginx, a bare net server answering a fixed response costs ~56 us of CPU per request,
 * the same on the raw handle ~29 us (docs/uwsgi.md and docs/fastcgi.md, Performance).
 *
 * How: net.Server still binds and listens (TCP, unix socket, fd, node:cluster); we replace its
 * handle's `onconnection`, which Node calls with each accepted handle (a TCPWrap or PipeWrap),
 * and read and write on that handle with the same bindings net.Socket uses (stream_wrap).
 * Anything off the hot path (a request body, a streaming or async response, bad input) wraps
 * the handle in a net.Socket, as net.Server would have, and goes on through the public API.
 *
 * Risk: these are Node internals (process.binding's stream_wrap: WriteWrap, streamBaseState,
 * the `onread` protocol, the handles' useUserBuffer). They have been stable since Node 12, but a change there must be
 * caught here: `native()` checks every piece it uses and returns null if any is missing, and
 * then the listener uses net.Socket only (as on Bun and Deno, and with `portable: true`).
 */
import { Buffer } from "node:buffer";
import { readSync } from "node:fs";
import { type Server, Socket } from "node:net";

/** The part of a libuv stream handle (TCPWrap/PipeWrap) that we use. */
export interface RawHandle {
  /** Must always be a function: Node aborts the process on anything else. */
  onread: (this: RawHandle, buf: ArrayBuffer | undefined) => void;
  readStart(): number;
  readStop(): number;
  writeLatin1String(req: object, s: string): number;
  writev(req: object, chunks: unknown[], allBuffers: boolean): number;
  close(cb?: () => void): void;
  setNoDelay?(on: boolean): number;
  /** TCP only: fills `out.address` (and port, family) with the peer's; 0 on success. */
  getpeername?(out: { address?: string }): number;
  /** Bytes libuv still holds from writes. */
  readonly writeQueueSize?: number;
  /** The file descriptor (-1 where there is none). */
  readonly fd?: number;
  /** Read into `buf` from now on instead of a fresh allocation per read (there is no way back). */
  useUserBuffer(buf: Uint8Array): void;
  [key: symbol]: unknown;
}

export interface Native {
  /** Make `server` hand each accepted handle to `accept` (after it is listening), and a failed accept's errno to `failed`. */
  takeOver(server: Server, accept: (handle: RawHandle) => void, failed: (errno: number) => void): boolean;
  /**
   * Start reading: `sink.rawData` gets each chunk, `rawEnd` the peer's FIN, `rawError` a reset.
   * Once per handle: from here on the handle reads into a buffer shared by all handles, so it
   * can only be handed to a net.Socket through `socket()`.
   * (The sink is attached here, not at accept: a request answered from `readNow` never needs it,
   * and a property added to a native handle object costs a hidden-class change.)
   */
  read(handle: RawHandle, sink: RawSink): void;
  /**
   * Hand `handle` to a net.Socket for good, as net.Server would have, reading on from there.
   * Each chunk read goes to `onData`, the caller's to keep; the socket emits no 'data' events
   * (it reads with net.Socket's `onread` option: a handle that `read()` gave our buffer cannot
   * go back to Node's own allocation). pause(), resume(), 'end', 'error', 'close' and writes
   * work as on any socket.
   */
  socket(handle: RawHandle, onData: (chunk: Buffer) => void): Socket;
  /**
   * Read what is already there into `buf`, without the event loop: bytes read, 0 at the peer's
   * FIN, -1 if nothing has arrived yet, -2 on an error (a reset).
   */
  readNow(handle: RawHandle, buf: Buffer): number;
  /**
   * Write `head` (a byte string) and `body` in one system call where possible. Returns 0 when
   * everything is with the kernel, 1 when libuv still holds bytes (`written` is called once
   * they are out or failed), or a negative errno.
   */
  write(handle: RawHandle, head: string, body: Uint8Array | null, written: (this: { owner: unknown }, status: number) => void, owner: unknown): number;
}

interface StreamWrapBinding {
  WriteWrap: new () => { handle: RawHandle; oncomplete: unknown; async: boolean; owner: unknown; body?: Uint8Array | null };
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kLastWriteWasAsync: number;
}

/** What each handle's `onread` reports to; set by the listener on the handle. */
export const kSink = Symbol("uwsgi.rawSink");
export interface RawSink {
  /**
   * `buf[0, len)` arrived. `buf` is shared by every connection and is overwritten by the next
   * read: copy whatever must outlive the call.
   */
  rawData(buf: Buffer, len: number): void;
  rawEnd(): void;
  rawError(): void;
}

let cached: Native | null | undefined;

/** The raw-handle operations, or null where they are unavailable (Bun, Deno, a changed Node). */
export function native(): Native | null {
  if (cached !== undefined) return cached;
  cached = null;
  const g = globalThis as { Bun?: unknown; Deno?: unknown; process?: { binding?: (name: string) => unknown } };
  // Deno's node:net mimics these internals in JS and Bun's does not have them: the public API there.
  const binding = g.process?.binding;
  if (g.Bun !== undefined || g.Deno !== undefined || typeof binding !== "function") return null;
  let sw: StreamWrapBinding, eof: number, handleTypes: { prototype: Partial<RawHandle> }[];
  try {
    sw = binding("stream_wrap") as StreamWrapBinding;
    eof = (binding("uv") as { UV_EOF: number }).UV_EOF;
    handleTypes = [(binding("pipe_wrap") as { Pipe: { prototype: Partial<RawHandle> } }).Pipe, (binding("tcp_wrap") as { TCP: { prototype: Partial<RawHandle> } }).TCP];
  } catch {
    return null;
  }
  const { WriteWrap, streamBaseState: state, kReadBytesOrError, kLastWriteWasAsync } = sw;
  if (typeof WriteWrap !== "function" || !(state instanceof Int32Array) || typeof kReadBytesOrError !== "number" || typeof kLastWriteWasAsync !== "number" || typeof eof !== "number") return null;
  if (handleTypes.some((t) => typeof t?.prototype?.useUserBuffer !== "function")) return null;

  // Reads through the event loop land in one buffer for every handle, not in a fresh 64 KiB
  // allocation and ArrayBuffer per read: ~1.1 us less per read (behind nginx, a loop read per
  // request: 9.4-9.6 against 8.1-8.4 us of CPU per request). A sink gets the buffer and copies
  // what it keeps; the next read may come only after it returns (reads are callbacks of the loop).
  const shared = Buffer.allocUnsafe(64 * 1024);
  // The same for handles passed on to a net.Socket (`socket()`), each chunk copied for its owner.
  const forSockets = Buffer.allocUnsafe(64 * 1024);

  // One shared function for every handle (Node calls it with `this` = the handle).
  function onread(this: RawHandle): void {
    const n = state[kReadBytesOrError];
    const sink = this[kSink] as RawSink;
    if (n > 0) sink.rawData(shared, n);
    else if (n === eof) sink.rawEnd();
    else if (n < 0) sink.rawError();
  }

  let spare: InstanceType<typeof WriteWrap> | null = null;
  cached = {
    takeOver(server, accept, failed) {
      const h = (server as unknown as { _handle?: { onconnection?: unknown } | null })._handle;
      if (h == null || typeof h.onconnection !== "function") return false;
      h.onconnection = (err: number, handle: RawHandle | undefined) => {
        // net.Server would emit 'error' (adapters/node/bind.ts); libuv keeps accepting either way.
        if (err === 0 && handle !== undefined) accept(handle);
        else if (err !== 0) failed(err);
      };
      return true;
    },
    read(handle, sink) {
      handle.useUserBuffer(shared);
      handle[kSink] = sink;
      handle.onread = onread;
      handle.readStart();
    },
    socket(handle, onData) {
      handle.readStop(); // net.Socket starts reading itself, and sets its own onread
      handle[kSink] = undefined;
      const options = {
        handle, allowHalfOpen: true, readable: true, writable: true,
        onread: { buffer: forSockets, callback: (n: number, buf: Buffer) => onData(Buffer.from(buf.subarray(0, n))) },
      };
      // `handle` is what net.Server passes for an accepted connection (undocumented in the types).
      return new Socket(options as ConstructorParameters<typeof Socket>[0]);
    },
    readNow(handle, buf) {
      const fd = handle.fd;
      if (typeof fd !== "number" || fd < 0) return -1;
      // "Nothing there yet" is an exception (EAGAIN); made without a stack trace it costs ~3 us
      // instead of ~5 (Node 20). The limit is put back before anything else runs.
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      try {
        return readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        return (err as { code?: string }).code === "EAGAIN" ? -1 : -2;
      } finally {
        Error.stackTraceLimit = limit;
      }
    },
    write(handle, head, body, written, owner) {
      // A write the kernel takes at once never binds the request object to a native write
      // (StreamBase tries uv_try_write first), so that object serves the next write too: one
      // native object made per async write instead of per response (~55 ns each).
      const req = spare ?? new WriteWrap();
      spare = null;
      req.handle = handle;
      req.oncomplete = written;
      req.async = false;
      req.owner = owner;
      const err = body === null ? handle.writeLatin1String(req, head) : handle.writev(req, [head, "latin1", body, "buffer"], false);
      if (err !== 0) return err < 0 ? err : -err; // (not reused: a failed async write may have bound it)
      if (state[kLastWriteWasAsync] === 0) {
        spare = req;
        return 0;
      }
      // libuv writes the rest later from the body's memory, which nothing else may still hold:
      // the request object keeps it alive until `written` (Node's own writes do the same,
      // req.buffer/req._chunks). Without this, a collected body went out as whatever the
      // memory held by then: other requests' bytes, on unix sockets and slow peers.
      req.body = body;
      return 1;
    },
  };
  return cached;
}
