/**
 * src/params.ts reuses the last block's strings and copies the last params object; both must be
 * invisible. Thousands of blocks that share names, positions and lengths (the cases that take
 * the template's fast paths) and blocks that break them (repeats, `__proto__`, more fields than
 * the template holds, a block bigger than it, a block that fails halfway) are decoded in one
 * sequence and each result compared with a plain decoding.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ParamsDecoder } from "../../src/index.ts";

type Pair = [string, string];

const join = (name: string, prev: string, value: string) => (name === "HTTP_COOKIE" ? prev + "; " + value : name.startsWith("HTTP_") ? prev + ", " + value : value);

/** What the decoder must return: a plain object built pair by pair, without an empty CONTENT_TYPE or CONTENT_LENGTH. */
function reference(pairs: Pair[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of pairs) {
    if (k === "__proto__") continue;
    out[k] = Object.hasOwn(out, k) ? join(k, out[k], v) : v;
  }
  if (out.CONTENT_TYPE === "") delete out.CONTENT_TYPE;
  if (out.CONTENT_LENGTH === "") delete out.CONTENT_LENGTH;
  return out;
}

/** Pairs laid out as [u16le length][bytes] fields after `pad` junk bytes; returns the buffer and field ranges. */
function layout(pairs: Pair[], pad: number): { buf: Buffer; ranges: [number, number][]; start: number; end: number } {
  const parts: Buffer[] = [Buffer.alloc(pad, 0xee)];
  const ranges: [number, number][] = [];
  let at = pad;
  for (const [k, v] of pairs) {
    for (const s of [k, v]) {
      parts.push(Buffer.from([s.length & 0xff, s.length >> 8]), Buffer.from(s, "latin1"));
      ranges.push([at + 2, at + 2 + s.length]);
      at += 2 + s.length;
    }
  }
  parts.push(Buffer.alloc(3, 0xee));
  return { buf: Buffer.concat(parts), ranges, start: pad, end: at };
}

function decode(d: ParamsDecoder, pairs: Pair[], pad: number): Record<string, string> {
  const { buf, ranges, start, end } = layout(pairs, pad);
  // As the codecs do: the whole block against the template first, field by field if that fails.
  const same = d.again(buf, start, end);
  if (same !== null) {
    buf.fill(0x55);
    return same;
  }
  d.begin();
  for (let i = 0; i < ranges.length; i += 2) {
    d.name(buf, ranges[i][0], ranges[i][1]);
    d.value(buf, ranges[i + 1][0], ranges[i + 1][1]);
  }
  const params = d.end(buf, start, end);
  buf.fill(0x55); // the strings must not be views of the packet
  return params;
}

function check(got: Record<string, string>, pairs: Pair[], what: string): void {
  assert.equal(Object.getPrototypeOf(got), Object.prototype, what);
  assert.deepEqual(Object.entries(got), Object.entries(reference(pairs)), what);
}

describe("ParamsDecoder (src/params.ts)", () => {
  test("5000 blocks from front servers with a few shapes: every result equals a plain decoding, in order", () => {
    let seed = 11;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    const names = ["QUERY_STRING", "REQUEST_METHOD", "CONTENT_TYPE", "CONTENT_LENGTH", "REQUEST_URI", "PATH_INFO", "REMOTE_PORT", "HTTP_HOST", "HTTP_COOKIE", "HTTP_ACCEPT", "REMOTE_ADDR", "SERVER_NAME"];
    // Values of a few lengths over a small alphabet (with any byte now and then): equal lengths, in-place changes and exact repeats all happen.
    const value = () => Array.from({ length: [0, 1, 3, 5, 5, 9][rand(6)] }, () => String.fromCharCode(rand(8) === 0 ? rand(256) : 97 + rand(2))).join("");
    const shapes: string[][] = [names, names.slice(0, 8), [...names.slice(0, 6), "HTTP_COOKIE", "HTTP_COOKIE"], ["REQUEST_METHOD", "__proto__", "PATH_INFO"], names.map((n) => n.replace("HTTP", "HTTX"))];
    const d = new ParamsDecoder(join);
    let last: Pair[] = [];
    for (let i = 0; i < 5000; i++) {
      const r = rand(10);
      let pairs: Pair[];
      if (r < 5 && last.length > 0) {
        // The last block with a value or two changed, most often keeping its length (a port):
        // the whole-block path with holes, or the copying path.
        const same = (v: string) => Array.from(v, (c) => (rand(3) === 0 ? String.fromCharCode(97 + rand(3)) : c)).join("");
        pairs = last.map(([k, v]) => [k, rand(4) === 0 ? (rand(3) === 0 ? value() : same(v)) : v]);
      } else {
        const shape = shapes[rand(shapes.length)];
        pairs = shape.map((k) => [k, value()]);
        // A name of the same length in another's place: the template changes a name in place.
        if (rand(4) === 0) pairs[rand(pairs.length)][0] = "X".repeat(12);
      }
      const got = decode(d, pairs, rand(4));
      check(got, pairs, `block ${i}: ${JSON.stringify(pairs)}`);
      got.REQUEST_METHOD = "MUTATED"; // what a caller does to one result must not reach the next
      last = pairs;
    }
  });

  test("more fields than a template holds, a block over 64 KiB, and the ordinary block after each", () => {
    const d = new ParamsDecoder(join);
    const usual: Pair[] = [["REQUEST_METHOD", "GET"], ["PATH_INFO", "/a"], ["REMOTE_PORT", "50000"]];
    check(decode(d, usual, 0), usual, "first");
    check(decode(d, usual, 0), usual, "copied");
    const many: Pair[] = Array.from({ length: 600 }, (_, i) => [`K${i}`, `v${i}`]);
    check(decode(d, many, 1), many, "600 pairs");
    check(decode(d, usual, 0), usual, "after 600 pairs");
    const big: Pair[] = [...usual, ...Array.from({ length: 100 }, (_, i): Pair => [`HTTP_X_${i}`, "x".repeat(700)])];
    check(decode(d, big, 2), big, "70 KiB block");
    check(decode(d, usual, 0), usual, "after the big block");
    check(decode(d, [...usual.slice(0, 2), ["REMOTE_PORT", "50001"]], 0), [...usual.slice(0, 2), ["REMOTE_PORT", "50001"]], "copied again");
  });

  test("a block that fails halfway leaves nothing behind for the next", () => {
    const strict = new ParamsDecoder((name, prev, value) => {
      if (name === "CONTENT_LENGTH" && prev !== value) throw new Error("CONTENT_LENGTH twice");
      return join(name, prev, value);
    });
    const a: Pair[] = [["REQUEST_METHOD", "GET"], ["CONTENT_LENGTH", "5"], ["PATH_INFO", "/x"]];
    check(decode(strict, a, 0), a, "first");
    // Same lengths at every position, names changed in place, then a repeat that throws.
    const bad: Pair[] = [["REQUEST_METHOX", "PUT"], ["CONTENT_LENGTH", "5"], ["PATH_INFO", "/y"], ["CONTENT_LENGTH", "6"]];
    assert.throws(() => decode(strict, bad, 0), /CONTENT_LENGTH twice/);
    // Its names are now the template's, at the same positions and count as the first block's.
    const b: Pair[] = [["REQUEST_METHOX", "PUT"], ["CONTENT_LENGTH", "5"], ["PATH_INFO", "/y"]];
    check(decode(strict, b, 0), b, "after the failed block");
    // A block cut short by the codec (begin, a name changed in place, no end), then one whose names are the template's now.
    strict.begin();
    strict.name(Buffer.from("REQUEST_METHOY"), 0, 14);
    const c: Pair[] = [["REQUEST_METHOY", "PUT"], ["CONTENT_LENGTH", "5"], ["PATH_INFO", "/y"]];
    check(decode(strict, c, 0), c, "after the block cut short");
    check(decode(strict, a, 0), a, "the first shape again");
    check(decode(strict, a, 0), a, "and copied");
  });
});
