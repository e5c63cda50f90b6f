/**
 * FastCGI 1.0 byte layout (fcgi-spec.html §3, §8): the record header, name-value pairs and the
 * records the application side sends. Pure functions over bytes; the server loop is in
 * connection.ts. Integers are big-endian ("B1<<8 + B0").
 */
import { bytesToByteString, ParamsDecoder, type CgiParams } from "../../src/index.ts";

export const VERSION = 1;
export const HEADER_LEN = 8;

/** Record types (§8). */
export const BEGIN_REQUEST = 1;
export const ABORT_REQUEST = 2;
export const END_REQUEST = 3;
export const PARAMS = 4;
export const STDIN = 5;
export const STDOUT = 6;
export const STDERR = 7;
export const DATA = 8;
export const GET_VALUES = 9;
export const GET_VALUES_RESULT = 10;
export const UNKNOWN_TYPE = 11;

/** BEGIN_REQUEST roles. */
export const RESPONDER = 1;
export const AUTHORIZER = 2;
export const FILTER = 3;
/** BEGIN_REQUEST flags bit 0: the web server keeps the connection open after this request. */
export const KEEP_CONN = 1;

/** END_REQUEST protocol status. */
export const REQUEST_COMPLETE = 0;
export const CANT_MPX_CONN = 1;
export const OVERLOADED = 2;
export const UNKNOWN_ROLE = 3;

/**
 * Largest content we put in one record: content + padding must stay within 65535, because
 * PHP-FPM-style readers reject more (protocols.md §1.2); 65528 is the largest multiple of 8.
 */
export const MAX_CONTENT = 65528;

/** A parsed record header. */
export interface RecordHeader {
  version: number;
  type: number;
  requestId: number;
  contentLength: number;
  paddingLength: number;
}

/** Read the 8-byte header at `off` (the caller checked 8 bytes are there). */
export function decodeHeader(b: Uint8Array, off = 0): RecordHeader {
  return {
    version: b[off],
    type: b[off + 1],
    requestId: (b[off + 2] << 8) | b[off + 3],
    contentLength: (b[off + 4] << 8) | b[off + 5],
    paddingLength: b[off + 6],
  };
}

/** Padding that makes `contentLength` a multiple of 8 (the spec recommends 8-byte alignment). */
export function paddingFor(contentLength: number): number {
  return -contentLength & 7;
}

/** Write a record header at `off`; returns the offset after it. */
export function writeHeader(out: Uint8Array, off: number, type: number, requestId: number, contentLength: number, paddingLength: number): number {
  out[off] = VERSION;
  out[off + 1] = type;
  out[off + 2] = requestId >> 8;
  out[off + 3] = requestId & 255;
  out[off + 4] = contentLength >> 8;
  out[off + 5] = contentLength & 255;
  out[off + 6] = paddingLength;
  out[off + 7] = 0;
  return off + HEADER_LEN;
}

/**
 * Bytes needed to send `n` bytes of a stream as records (each ≤ MAX_CONTENT, padded to 8),
 * not counting the empty end-of-stream record.
 */
export function streamSize(n: number): number {
  const full = Math.floor(n / MAX_CONTENT);
  const rest = n - full * MAX_CONTENT;
  return full * (HEADER_LEN + MAX_CONTENT) + (rest > 0 ? HEADER_LEN + rest + paddingFor(rest) : 0);
}

/**
 * Write `data` as records of `type` for `requestId` at `off` (`out` has streamSize(data.length)
 * bytes of room); padding bytes are zeroed. Returns the offset after the last record.
 */
export function writeStream(out: Uint8Array, off: number, type: number, requestId: number, data: Uint8Array): number {
  for (let start = 0; start < data.length; start += MAX_CONTENT) {
    const len = Math.min(MAX_CONTENT, data.length - start);
    const pad = paddingFor(len);
    off = writeHeader(out, off, type, requestId, len, pad);
    out.set(start === 0 && len === data.length ? data : data.subarray(start, start + len), off);
    off += len;
    for (let i = 0; i < pad; i++) out[off++] = 0;
  }
  return off;
}

/** Write the 16-byte END_REQUEST record (§5.5) at `off`. */
export function writeEndRequest(out: Uint8Array, off: number, requestId: number, appStatus: number, protocolStatus: number): number {
  off = writeHeader(out, off, END_REQUEST, requestId, 8, 0);
  out[off] = (appStatus >>> 24) & 255;
  out[off + 1] = (appStatus >>> 16) & 255;
  out[off + 2] = (appStatus >>> 8) & 255;
  out[off + 3] = appStatus & 255;
  out[off + 4] = protocolStatus;
  out[off + 5] = out[off + 6] = out[off + 7] = 0;
  return off + 8;
}

/** A whole END_REQUEST record. */
export function endRequestRecord(requestId: number, appStatus: number, protocolStatus: number): Uint8Array {
  const out = new Uint8Array(16);
  writeEndRequest(out, 0, requestId, appStatus, protocolStatus);
  return out;
}

/** FCGI_UNKNOWN_TYPE (§4.2) answering a management record of type `type`. */
export function unknownTypeRecord(type: number): Uint8Array {
  const out = new Uint8Array(16);
  writeHeader(out, 0, UNKNOWN_TYPE, 0, 8, 0);
  out[8] = type;
  return out;
}

/** One record of any type with `content`, padded to 8. */
export function record(type: number, requestId: number, content: Uint8Array): Uint8Array {
  const pad = paddingFor(content.length);
  const out = new Uint8Array(HEADER_LEN + content.length + pad);
  writeHeader(out, 0, type, requestId, content.length, pad);
  out.set(content, HEADER_LEN);
  return out;
}

/** The BEGIN_REQUEST body (§5.1), as a whole record; used by tests and clients. */
export function beginRequestRecord(requestId: number, role: number, flags: number): Uint8Array {
  const body = new Uint8Array(8);
  body[0] = role >> 8;
  body[1] = role & 255;
  body[2] = flags;
  return record(BEGIN_REQUEST, requestId, body);
}

/** Size of a name-value length: 1 byte below 128, else 4 with the top bit set (§3.4). */
function lengthSize(n: number): number {
  return n < 128 ? 1 : 4;
}

function writeLength(out: Uint8Array, off: number, n: number): number {
  if (n < 128) {
    out[off] = n;
    return off + 1;
  }
  out[off] = ((n >>> 24) & 0x7f) | 0x80;
  out[off + 1] = (n >>> 16) & 255;
  out[off + 2] = (n >>> 8) & 255;
  out[off + 3] = n & 255;
  return off + 4;
}

/**
 * Encode name-value pairs (byte strings: one char per byte). Used for GET_VALUES_RESULT and by
 * the test client for PARAMS.
 */
export function encodePairs(pairs: Iterable<readonly [string, string]>): Uint8Array {
  let size = 0;
  const list = [...pairs];
  for (const [n, v] of list) size += lengthSize(n.length) + lengthSize(v.length) + n.length + v.length;
  const out = new Uint8Array(size);
  let off = 0;
  for (const [n, v] of list) {
    off = writeLength(out, off, n.length);
    off = writeLength(out, off, v.length);
    for (let i = 0; i < n.length; i++) out[off++] = n.charCodeAt(i);
    for (let i = 0; i < v.length; i++) out[off++] = v.charCodeAt(i);
  }
  return out;
}

/** Thrown for a name-value block whose lengths run past its end. */
export class PairsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PairsError";
  }
}

/**
 * Decode a complete name-value block (the whole PARAMS stream, or one GET_VALUES body) and call
 * `each(name, value)` with byte strings. Throws PairsError when a length runs past the end:
 * the block is whole, so that can only be a broken peer.
 */
export function decodePairs(b: Uint8Array, each: (name: string, value: string) => void): number {
  let off = 0;
  let count = 0;
  const end = b.length;
  while (off < end) {
    let nl = b[off];
    if (nl & 0x80) {
      if (off + 4 > end) throw new PairsError(`name length cut off at byte ${off}`);
      nl = ((nl & 0x7f) << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3];
      off += 4;
    } else off += 1;
    if (off >= end) throw new PairsError(`value length missing at byte ${off}`);
    let vl = b[off];
    if (vl & 0x80) {
      if (off + 4 > end) throw new PairsError(`value length cut off at byte ${off}`);
      vl = ((vl & 0x7f) << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3];
      off += 4;
    } else off += 1;
    if (nl > end - off || vl > end - off - nl) throw new PairsError(`a pair of ${nl}+${vl} bytes runs past the end of the ${end}-byte block`);
    each(bytesToByteString(b, off, off + nl), bytesToByteString(b, off + nl, off + nl + vl));
    off += nl + vl;
    count++;
  }
  return count;
}

/**
 * Decode a whole PARAMS stream, `b[start..end)`, into CGI parameters. Repeated names (nginx <=
 * 1.22 sends one HTTP_COOKIE per Cookie header): HTTP_COOKIE values are joined with "; ", other
 * headers with ", " as HTTP joins them, and any other variable keeps its last value (so a config
 * can override one). Throws PairsError when a length runs past the end.
 */
export function decodeParams(b: Uint8Array, start: number, end: number): CgiParams {
  const d = decoder;
  const same = d.again(b, start, end);
  if (same !== null) return same;
  d.begin();
  let off = start;
  while (off < end) {
    let nl = b[off];
    if (nl & 0x80) {
      if (off + 4 > end) throw new PairsError(`name length cut off at byte ${off - start}`);
      nl = ((nl & 0x7f) << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3];
      off += 4;
    } else off += 1;
    if (off >= end) throw new PairsError(`value length missing at byte ${off - start}`);
    let vl = b[off];
    if (vl & 0x80) {
      if (off + 4 > end) throw new PairsError(`value length cut off at byte ${off - start}`);
      vl = ((vl & 0x7f) << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3];
      off += 4;
    } else off += 1;
    if (nl > end - off || vl > end - off - nl) throw new PairsError(`a pair of ${nl}+${vl} bytes runs past the end of the ${end - start}-byte block`);
    d.name(b, off, off + nl);
    d.value(b, off + nl, off + nl + vl);
    off += nl + vl;
  }
  return d.end(b, start, end);
}

/** Names and values become strings through the shared decoder (src/params.ts: it reuses the last block's strings). */
const decoder = new ParamsDecoder((name, prev, value) => (name === "HTTP_COOKIE" ? prev + "; " + value : name.startsWith("HTTP_") ? prev + ", " + value : value));
