/**
 * The uwsgi request packet, byte by byte (uWSGI docs, Protocol.rst):
 *
 * ```
 * offset size
 * 0      1    modifier1   0 = an HTTP/WSGI request: what nginx, Apache and uWSGI's router send
 * 1      2    datasize    uint16 LITTLE-endian: length of the vars block (not of the body)
 * 3      1    modifier2   0 for requests
 * 4      n    vars        { key_len:u16le key val_len:u16le value } repeated, filling datasize
 * 4+n    ...  body        exactly CONTENT_LENGTH bytes; there is no end marker
 * ```
 *
 * Keys and values are raw bytes; they become byte strings (one char per byte, as PEP 3333).
 * The response is not a uwsgi packet at all but a raw HTTP/1.x response (see sink.ts).
 */
import { bytesToByteString, ParamsDecoder, type CgiParams } from "../../src/index.ts";

/** Size of the packet header. */
export const HEADER_SIZE = 4;
/** The largest vars block the 16-bit datasize can describe. */
export const MAX_VARS_SIZE = 0xffff;
/** modifier1 of an HTTP request (WSGI in uWSGI's table); the only kind tsgi serves. */
export const MODIFIER1_HTTP = 0;

/** The 4-byte packet header. */
export interface PacketHeader {
  modifier1: number;
  /** Length of the vars block that follows the header. */
  size: number;
  modifier2: number;
}

/** A vars block that cannot be decoded; `message` says what is wrong, for the log line. */
export class UwsgiProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UwsgiProtocolError";
  }
}

/** Read the header at `offset` (the caller made sure 4 bytes are there). */
export function decodeHeader(buf: Uint8Array, offset = 0): PacketHeader {
  return { modifier1: buf[offset], size: buf[offset + 1] | (buf[offset + 2] << 8), modifier2: buf[offset + 3] };
}

/**
 * Decode the vars block `buf[start, end)` into CGI params (a `__proto__` key is dropped: it
 * is no CGI variable, and on a plain object it would be a prototype). Repeated `HTTP_*` keys (nginx before 1.23 sends one
 * `HTTP_COOKIE` per Cookie header) are joined as HTTP does: `; ` for cookies, `, ` otherwise.
 * A repeated CGI key keeps the last value, except `CONTENT_LENGTH`: two different values
 * would make the body's framing ambiguous, so that is an error.
 * Throws UwsgiProtocolError for a zero-length key or lengths running past the block (uWSGI
 * rejects both, and gunicorn too).
 */
export function decodeVars(buf: Uint8Array, start: number, end: number): CgiParams {
  const d = decoder;
  const same = d.again(buf, start, end);
  if (same !== null) return same;
  d.begin();
  let i = start;
  while (i < end) {
    if (i + 2 > end) throw new UwsgiProtocolError(`vars block ends inside a key length at byte ${i - start} of ${end - start}`);
    const klen = buf[i] | (buf[i + 1] << 8);
    i += 2;
    if (klen === 0) throw new UwsgiProtocolError(`zero-length key at byte ${i - 2 - start} of the vars block`);
    if (i + klen + 2 > end) throw new UwsgiProtocolError(`key of ${klen} bytes at byte ${i - 2 - start} runs past the ${end - start}-byte vars block`);
    d.name(buf, i, i + klen);
    const k = i;
    i += klen;
    const vlen = buf[i] | (buf[i + 1] << 8);
    i += 2;
    if (i + vlen > end) throw new UwsgiProtocolError(`value of ${bytesToByteString(buf.subarray(k, k + klen))} (${vlen} bytes) runs past the ${end - start}-byte vars block`);
    d.value(buf, i, i + vlen);
    i += vlen;
  }
  return d.end(buf, start, end);
}

/** Names and values become strings through the shared decoder (src/params.ts: it reuses the last block's strings). */
const decoder = new ParamsDecoder((name, prev, value) => {
  if (name === "HTTP_COOKIE") return prev + "; " + value;
  if (name.startsWith("HTTP_")) return prev + ", " + value;
  if (name === "CONTENT_LENGTH" && prev !== value) throw new UwsgiProtocolError(`CONTENT_LENGTH given twice (${JSON.stringify(prev)} and ${JSON.stringify(value)})`);
  return value;
});

/**
 * Encode vars as a uwsgi vars block. Keys and values are byte strings (chars above U+00FF
 * are an error: they have no one-byte form). Used by tests and by anyone writing a client.
 */
export function encodeVars(vars: Iterable<readonly [string, string]> | Record<string, string>): Uint8Array {
  const pairs: (readonly [string, string])[] = Symbol.iterator in Object(vars) ? [...(vars as Iterable<readonly [string, string]>)] : Object.entries(vars);
  let size = 0;
  for (const [k, v] of pairs) {
    if (k.length > MAX_VARS_SIZE || v.length > MAX_VARS_SIZE) throw new RangeError(`uwsgi var ${k.slice(0, 40)} is longer than 65535 bytes`);
    size += 4 + k.length + v.length;
  }
  const out = new Uint8Array(size);
  let i = 0;
  for (const [k, v] of pairs) {
    i = putString(out, putU16(out, i, k.length), k);
    i = putString(out, putU16(out, i, v.length), v);
  }
  return out;
}

/** A whole request packet: header, vars block, body. */
export function encodePacket(vars: Iterable<readonly [string, string]> | Record<string, string>, body?: Uint8Array, modifier1 = MODIFIER1_HTTP, modifier2 = 0): Uint8Array {
  const block = encodeVars(vars);
  if (block.length > MAX_VARS_SIZE) throw new RangeError(`uwsgi vars block of ${block.length} bytes exceeds 65535`);
  const bodyLen = body?.length ?? 0;
  const out = new Uint8Array(HEADER_SIZE + block.length + bodyLen);
  out[0] = modifier1;
  putU16(out, 1, block.length);
  out[3] = modifier2;
  out.set(block, HEADER_SIZE);
  if (body) out.set(body, HEADER_SIZE + block.length);
  return out;
}

function putU16(out: Uint8Array, i: number, n: number): number {
  out[i] = n & 0xff;
  out[i + 1] = n >> 8;
  return i + 2;
}

function putString(out: Uint8Array, i: number, s: string): number {
  for (let j = 0; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c > 255) throw new RangeError(`uwsgi vars are byte strings; ${JSON.stringify(s.slice(0, 40))} has a char above U+00FF`);
    out[i++] = c;
  }
  return i;
}
