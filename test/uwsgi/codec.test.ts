/** Golden bytes for the uwsgi packet codec (layout: uWSGI Protocol.rst; protocols.md §3). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeHeader, decodeVars, encodePacket, encodeVars, UwsgiProtocolError } from "../../adapters/uwsgi/index.ts";

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

test("REQUEST_METHOD=GET encodes as 0E 00 key 03 00 value, 21 bytes, header 00 15 00 00", () => {
  const golden = Uint8Array.from([0x00, 0x15, 0x00, 0x00, 0x0e, 0x00, ...ascii("REQUEST_METHOD"), 0x03, 0x00, ...ascii("GET")]);
  assert.deepEqual(encodePacket({ REQUEST_METHOD: "GET" }), golden);
  assert.deepEqual(decodeHeader(golden), { modifier1: 0, size: 21, modifier2: 0 });
  assert.deepEqual({ ...decodeVars(golden, 4, golden.length) }, { REQUEST_METHOD: "GET" });
});

test("sizes are little-endian: nginx's header 00 e0 01 00 is a 480-byte block", () => {
  assert.deepEqual(decodeHeader(Uint8Array.from([0x00, 0xe0, 0x01, 0x00])), { modifier1: 0, size: 480, modifier2: 0 });
  const v = "x".repeat(300); // 300 = 0x012C
  const block = encodeVars([["K", v]]);
  assert.deepEqual([...block.subarray(0, 6)], [0x01, 0x00, 0x4b, 0x2c, 0x01, 0x78]);
  assert.equal(decodeVars(block, 0, block.length).K, v);
});

test("modifiers and the body are placed where the protocol says", () => {
  const p = encodePacket({ A: "" }, Uint8Array.from([1, 2, 3]), 5, 7);
  assert.deepEqual([...p], [5, 5, 0, 7, 1, 0, 0x41, 0, 0, 1, 2, 3]);
});

test("values are byte strings: 0x80-0xff survive both ways (not windows-1252)", () => {
  const bytes = Uint8Array.from([0x01, 0x00, 0x50, 0x04, 0x00, 0x2f, 0x80, 0x9f, 0xff]);
  const v = decodeVars(bytes, 0, bytes.length).P;
  assert.deepEqual([...v].map((c) => c.charCodeAt(0)), [0x2f, 0x80, 0x9f, 0xff]);
  assert.deepEqual(encodeVars({ P: v }), bytes);
});

test("empty values are allowed, including the last one; an empty CONTENT_TYPE or CONTENT_LENGTH is left out (nginx sends both with every GET)", () => {
  const block = encodeVars([["QUERY_STRING", ""], ["CONTENT_TYPE", ""], ["CONTENT_LENGTH", ""], ["HTTP_X", ""]]);
  assert.deepEqual(Object.entries(decodeVars(block, 0, block.length)), [["QUERY_STRING", ""], ["HTTP_X", ""]]);
  const typed = encodeVars([["CONTENT_TYPE", "text/plain"], ["CONTENT_LENGTH", ""]]);
  assert.deepEqual(Object.entries(decodeVars(typed, 0, typed.length)), [["CONTENT_TYPE", "text/plain"]]);
});

test("repeated HTTP_* vars join as HTTP does (nginx 1.22 sends one HTTP_COOKIE per header)", () => {
  const block = encodeVars([["HTTP_COOKIE", "a=1"], ["HTTP_COOKIE", "b=2"], ["HTTP_ACCEPT", "x"], ["HTTP_ACCEPT", "y"], ["SERVER_NAME", "a"], ["SERVER_NAME", "b"]]);
  assert.deepEqual({ ...decodeVars(block, 0, block.length) }, { HTTP_COOKIE: "a=1; b=2", HTTP_ACCEPT: "x, y", SERVER_NAME: "b" });
});

test("a __proto__ key is dropped, and keys named like Object.prototype members are plain data", () => {
  const block = encodeVars([["__proto__", "x"], ["constructor", "c"], ["toString", "t"], ["A", "1"]]);
  const p = decodeVars(block, 0, block.length);
  assert.equal(Object.getPrototypeOf(p), Object.prototype);
  assert.deepEqual(Object.entries(p), [["constructor", "c"], ["toString", "t"], ["A", "1"]]);
});

const bad: [string, number[], RegExp][] = [
  ["a zero-length key", [0, 0, 1, 0, 0x41], /zero-length key/],
  ["a key length past the block", [9, 0, 0x41, 0x42], /key of 9 bytes .* runs past/],
  ["a value length past the block", [1, 0, 0x41, 5, 0, 0x42], /value of A \(5 bytes\) runs past/],
  ["a block ending inside a key length", [1, 0, 0x41, 0, 0, 7], /ends inside a key length/],
  ["a key without its value length", [1, 0, 0x41, 0], /runs past/],
  ["two different CONTENT_LENGTHs", [...encodeVars([["CONTENT_LENGTH", "1"], ["CONTENT_LENGTH", "2"]])], /CONTENT_LENGTH given twice/],
];
for (const [name, bytes, message] of bad) {
  test(`rejects ${name}`, () => {
    const b = Uint8Array.from(bytes);
    assert.throws(() => decodeVars(b, 0, b.length), (e: unknown) => e instanceof UwsgiProtocolError && message.test(e.message));
  });
}

test("encoding refuses what the protocol cannot carry", () => {
  assert.throws(() => encodeVars({ K: "é€" }), /above U\+00FF/);
  assert.throws(() => encodeVars({ K: "x".repeat(65536) }), /longer than 65535/);
  assert.throws(() => encodePacket({ A: "x".repeat(40000), B: "y".repeat(40000) }), /exceeds 65535/);
});
