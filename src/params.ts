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
import { bytesToByteString } from "./environ.ts";
import type { CgiParams } from "./request.ts";

/** How a repeated name combines with the value before it (the codec's rule; may throw). */
export type RepeatedName = (name: string, previous: string, value: string) => string;

/** Fields (names and values) a template remembers; a block with more is decoded plainly. */
const MAX_FIELDS = 512;
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
    this.field(buf, start, end);
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
  }
}
