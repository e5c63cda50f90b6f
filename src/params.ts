/**
 * CGI params from a front server's name-value block (FastCGI PARAMS, the uwsgi vars block),
 * shared by both codecs. Each codec reads its own length prefixes and hands every name and value
 * here as a byte range; this file turns them into strings and the params object.
 *
 * Why a template: nginx, Apache and lighttpd send the same names in the same order on every
 * request, and most values too (GET, HTTP/1.1, the server's address and port). So the decoder
 * keeps the last block it saw, field by field, and compares each new field with the one at the
 * same position: a match reuses that string (no native call to build it, no string to collect,
 * and a name stays the one already internalized as a property key). When every name matched,
 * the params object is a copy of the last one (V8 copies such an object, hidden class and all,
 * in one step) with only the changed values written. Decoding nginx's uwsgi hello went from
 * ~1.6 to ~0.6 µs on Node 20 (bench/uwsgi, see docs/uwsgi.md).
 *
 * Every byte of every field is compared, so what a peer sends can only make this slower, never
 * wrong; and the template is one block of bounded size, replaced when the shape changes.
 */
import { bytesToByteString, isEmptyContent } from "./environ.ts";
import type { CgiParams } from "./request.ts";

/** How a repeated name combines with the value before it (the codec's rule; may throw). */
export type RepeatedName = (name: string, previous: string, value: string) => string;

/** Fields (names and values) a template remembers; a block with more is decoded plainly. */
const MAX_FIELDS = 512;
/** Value fields `again` checks one by one; a block with more changes is decoded field by field. */
const MAX_HOLES = 4;
/** Largest block a template holds; a larger one is decoded plainly. */
const MAX_BYTES = 65536;

/**
 * One decoder per protocol (module state is fine: a block is decoded in one synchronous call).
 * Use: `begin()`, then `name()`/`value()` for each pair in order, then `end()`.
 */
export class ParamsDecoder {
  /** The template block's bytes; field i is `bytes[at[i], at[i] + len[i])`. */
  private bytes = new Uint8Array(1024);
  private readonly at = new Int32Array(MAX_FIELDS);
  private readonly len = new Int32Array(MAX_FIELDS).fill(-1);
  private readonly text: string[] = new Array<string>(MAX_FIELDS).fill("");
  private fields = 0;
  /** Size in bytes of the template block. */
  private size = -1;
  /**
   * Value fields that changed while keeping their length (REMOTE_PORT, a request id): the
   * holes in the template that `again` checks field by field, ascending, at most MAX_HOLES.
   */
  private readonly holes: number[] = [];
  /** The params of the block that set the current names, and its values by field index. */
  private last: CgiParams | null = null;
  private readonly lastValues: string[] = new Array<string>(MAX_FIELDS).fill("");
  /** Set by `plain`: false when the names repeat or include `__proto__` (then `last` stays null). */
  private copyable = false;

  // This block, as it is read.
  private readonly got: string[] = new Array<string>(MAX_FIELDS).fill("");
  private readonly from = new Int32Array(MAX_FIELDS);
  private n = 0;
  private sameNames = true;
  /** A field's length differed from the template's: the template is rebuilt from this block. */
  private relayout = false;

  constructor(private readonly repeat: RepeatedName) {}

  /**
   * The params of `buf[start, end)` if it is the template block with at most its holes'
   * contents changed, else null (then decode it field by field: `begin`, `name`/`value`,
   * `end`). The holes' bytes are taken into the template first (with their strings, so the
   * template stays consistent whatever follows), and then the whole block is compared with it
   * as one range: one native compare on a Buffer. The range includes every length prefix, so
   * equal bytes mean the same fields at the same places, and the block is as valid as the
   * template was.
   */
  again(buf: Uint8Array, start: number, end: number): CgiParams | null {
    const last = this.last;
    if (last === null || end - start !== this.size) return null;
    const t = this.bytes, holes = this.holes;
    for (let k = 0; k < holes.length; k++) {
      const i = holes[k], at = this.at[i], n = this.len[i];
      let j = 0;
      while (j < n && t[at + j] === buf[start + at + j]) j++;
      if (j < n) {
        for (; j < n; j++) t[at + j] = buf[start + at + j];
        this.text[i] = bytesToByteString(buf, start + at, start + at + n);
      }
    }
    if (!sameRange(buf, start, t, 0, this.size)) return null;
    const params = { ...last };
    for (let k = 0; k < holes.length; k++) {
      const i = holes[k];
      if (this.text[i] !== this.lastValues[i]) params[this.text[i - 1]] = this.text[i];
    }
    return params;
  }

  begin(): void {
    this.n = 0;
    this.sameNames = true;
    this.relayout = false;
  }

  name(buf: Uint8Array, start: number, end: number): void {
    if (!this.field(buf, start, end)) {
      this.sameNames = false;
      // The template's names may have just changed in place: `last` no longer has them.
      this.last = null;
    }
  }

  value(buf: Uint8Array, start: number, end: number): void {
    const i = this.n;
    if (this.field(buf, start, end)) return;
    if (i < MAX_FIELDS && this.len[i] === end - start) {
      if (this.holes.includes(i)) return;
      if (this.holes.length < MAX_HOLES) {
        this.holes.push(i);
        this.holes.sort((a, b) => a - b);
        return;
      }
    }
    // `again` relies on every value outside the holes being the one `last` has: this one is
    // not, so `end` builds `last` again from this block.
    this.last = null;
  }

  /** The params of the block `buf[start, end)` whose fields were just given. */
  end(buf: Uint8Array, start: number, end: number): CgiParams {
    const n = this.n;
    let params: CgiParams;
    if (this.sameNames && n === this.fields && this.last !== null) {
      params = { ...this.last };
      const got = this.got, was = this.lastValues;
      for (let i = 1; i < n; i += 2) if (got[i] !== was[i]) params[got[i - 1]] = got[i];
    } else {
      params = this.plain(n);
      this.last = null;
      if (this.copyable) {
        for (let i = 0; i < n; i++) this.lastValues[i] = this.got[i];
        this.last = { ...params };
      }
    }
    if (this.relayout || n !== this.fields) this.keep(buf, start, end, n);
    return params;
  }

  /** Does field `i` of the template hold exactly these bytes? */
  private match(buf: Uint8Array, start: number, end: number, i: number): boolean {
    if (this.len[i] !== end - start) return false;
    const t = this.bytes;
    let j = this.at[i];
    for (let k = start; k < end; k++, j++) if (t[j] !== buf[k]) return false;
    return true;
  }

  /** Take the next field; true when the template had the same bytes at its position. */
  private field(buf: Uint8Array, start: number, end: number): boolean {
    const i = this.n++;
    if (i >= MAX_FIELDS) {
      this.got[i] = bytesToByteString(buf, start, end);
      return false;
    }
    this.from[i] = start;
    if (this.match(buf, start, end, i)) {
      this.got[i] = this.text[i];
      return true;
    }
    const s = bytesToByteString(buf, start, end);
    this.got[i] = s;
    // The same length: the template takes the new bytes in place. Another: it is rebuilt at the end.
    if (this.len[i] === end - start) {
      const t = this.bytes;
      for (let k = start, j = this.at[i]; k < end; k++, j++) t[j] = buf[k];
      this.text[i] = s;
    } else this.relayout = true;
    return false;
  }

  /** Build the object pair by pair (the names changed, or the last block's could not be copied). */
  private plain(n: number): CgiParams {
    // A plain object, not Object.create(null): V8 keeps it in fast mode (the same names in the same
    // order share hidden classes), where a null-prototype object is a hash table from the start.
    const params: CgiParams = {};
    let copyable = n <= MAX_FIELDS;
    const got = this.got;
    for (let i = 0; i + 1 < n; i += 2) {
      const name = got[i], value = got[i + 1];
      if (name === "__proto__") {
        copyable = false; // no CGI variable, and on a plain object it would be the prototype
        continue;
      }
      const prev = params[name];
      if (prev === undefined || !Object.hasOwn(params, name)) params[name] = value;
      else {
        copyable = false;
        params[name] = this.repeat(name, prev, value);
      }
    }
    this.copyable = copyable;
    // `content-empty` (isEmptyContent), applied once per layout here: the template has no
    // empty CONTENT_*, so a GET's names are the same on every request and environFromParams
    // copies them with a constructor made for them (src/params-copy.ts), not key by key.
    if (params.CONTENT_TYPE === "" || params.CONTENT_LENGTH === "") return withoutEmptyContent(params);
    return params;
  }

  /** Make this block the template. */
  private keep(buf: Uint8Array, start: number, end: number, n: number): void {
    const size = end - start;
    if (n > MAX_FIELDS || size > MAX_BYTES) {
      // Too big to hold: the template stays as it was, and `last` (this block's) goes.
      this.last = null;
      return;
    }
    if (this.bytes.length < size) this.bytes = new Uint8Array(Math.min(MAX_BYTES, Math.max(size, this.bytes.length * 2)));
    this.bytes.set(buf.subarray(start, end));
    const got = this.got;
    for (let i = 0; i < n; i++) {
      this.at[i] = this.from[i] - start;
      this.len[i] = got[i].length;
      this.text[i] = got[i];
    }
    for (let i = n; i < this.fields; i++) this.len[i] = -1;
    this.fields = n;
    this.size = size;
    this.holes.length = 0;
  }
}

/** Is `buf[start, start + (tEnd - tStart))` the same as `t[tStart, tEnd)`? */
function sameRange(buf: Uint8Array, start: number, t: Uint8Array, tStart: number, tEnd: number): boolean {
  if (tEnd <= tStart) return true;
  const b = buf as Uint8Array & { compare?: (target: Uint8Array, targetStart: number, targetEnd: number, sourceStart: number, sourceEnd: number) => number };
  if (typeof b.compare === "function") return b.compare(t, tStart, tEnd, start, start + tEnd - tStart) === 0;
  for (let i = tStart, j = start; i < tEnd; i++, j++) if (t[i] !== buf[j]) return false;
  return true;
}

/** `params` without an empty CONTENT_TYPE or CONTENT_LENGTH, in the same order. */
function withoutEmptyContent(params: CgiParams): CgiParams {
  const out: CgiParams = {};
  for (const k in params) {
    const v = params[k];
    if (isEmptyContent(k, v)) continue;
    out[k] = v;
  }
  return out;
}
