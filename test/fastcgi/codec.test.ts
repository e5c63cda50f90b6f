/** Golden-byte tests of the FastCGI codec (fcgi-spec §3, §8) and the incremental record reader. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { codec, RecordReader } from "../../adapters/fastcgi/index.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("record header", () => {
  test("decodes version, type, id, lengths (big-endian)", () => {
    const h = codec.decodeHeader(Buffer.from("0105012c1ff80700", "hex"));
    assert.deepEqual(h, { version: 1, type: 5, requestId: 300, contentLength: 0x1ff8, paddingLength: 7 });
  });
  test("encodes a header with reserved byte 0", () => {
    const b = new Uint8Array(8).fill(0xee);
    codec.writeHeader(b, 0, codec.STDOUT, 0x0102, 0xfff8, 0);
    assert.equal(hex(b), "01060102fff80000");
  });
  test("padding aligns content to 8", () => {
    assert.deepEqual([0, 1, 7, 8, 9, 46].map(codec.paddingFor), [0, 7, 1, 0, 7, 2]);
  });
});

describe("name-value pairs", () => {
  test("1-byte lengths: SERVER_PORT=80 (spec §3.4 example)", () => {
    assert.equal(hex(codec.encodePairs([["SERVER_PORT", "80"]])), "0b02" + Buffer.from("SERVER_PORT80").toString("hex"));
  });
  test("4-byte length with the top bit set for 128 and up", () => {
    const v = "x".repeat(300);
    const b = codec.encodePairs([["A", v]]);
    assert.equal(hex(b.subarray(0, 6)), "018000012c41");
    const v127 = codec.encodePairs([["B", "y".repeat(127)]]);
    assert.equal(hex(v127.subarray(0, 2)), "017f");
  });
  test("decodes all four length combinations, including a 4-byte form of a small length", () => {
    const block = Buffer.concat([
      Buffer.from("0102", "hex"), Buffer.from("abc"),
      Buffer.from("01800000c8", "hex"), Buffer.from("N"), Buffer.alloc(200, 0x76),
      Buffer.from("80000081", "hex"), Buffer.from("00", "hex"), Buffer.alloc(129, 0x6e),
      Buffer.from("8000000380000002", "hex"), Buffer.from("KEYvv"),
    ]);
    const got: [string, string][] = [];
    assert.equal(codec.decodePairs(block, (n, v) => got.push([n, v])), 4);
    assert.deepEqual(got, [["a", "bc"], ["N", "v".repeat(200)], ["n".repeat(129), ""], ["KEY", "vv"]]);
  });
  test("bytes above 127 come out as a byte string", () => {
    const got: string[] = [];
    codec.decodePairs(Buffer.from([1, 2, 0x41, 0xc3, 0xa9]), (_n, v) => got.push(v));
    assert.equal(got[0], "\u00c3\u00a9");
  });
  test("a length running past the block is an error, never a partial pair", () => {
    assert.throws(() => codec.decodePairs(Buffer.from("0105616263", "hex"), () => {}), codec.PairsError);
    assert.throws(() => codec.decodePairs(Buffer.from("8000", "hex"), () => {}), codec.PairsError);
    assert.throws(() => codec.decodePairs(Buffer.from("01", "hex"), () => {}), codec.PairsError);
    assert.throws(() => codec.decodePairs(Buffer.from("ffffffff00", "hex"), () => {}), codec.PairsError);
  });
  test("decodeParams: a range of a bigger buffer; repeated names joined as HTTP joins them, others keep the last", () => {
    const block = codec.encodePairs([["HTTP_COOKIE", "a=1"], ["HTTP_ACCEPT", "x"], ["HTTP_COOKIE", "b=2"], ["HTTP_ACCEPT", "y"], ["SCRIPT_NAME", "/a"], ["SCRIPT_NAME", "/b"], ["E", ""]]);
    const framed = Buffer.concat([Buffer.from("zzz"), block, Buffer.from("\x01\x01xy")]);
    assert.deepEqual({ ...codec.decodeParams(framed, 3, 3 + block.length) }, { HTTP_COOKIE: "a=1; b=2", HTTP_ACCEPT: "x, y", SCRIPT_NAME: "/b", E: "" });
    assert.throws(() => codec.decodeParams(framed, 3, 3 + block.length - 1), codec.PairsError);
  });
});

describe("records the application sends", () => {
  test("END_REQUEST: appStatus 32-bit, protocol status, reserved zeros", () => {
    assert.equal(hex(codec.endRequestRecord(1, 0, codec.REQUEST_COMPLETE)), "0103000100080000" + "0000000000000000");
    assert.equal(hex(codec.endRequestRecord(0x1234, 0x01020304, codec.OVERLOADED)), "0103123400080000" + "0102030402000000");
  });
  test("UNKNOWN_TYPE names the type on request id 0", () => {
    assert.equal(hex(codec.unknownTypeRecord(42)), "010b000000080000" + "2a00000000000000");
  });
  test("streams split at 65528 content bytes, padded to 8, content + padding <= 65535", () => {
    const data = Buffer.alloc(65528 * 2 + 3, 7);
    const out = new Uint8Array(codec.streamSize(data.length));
    const end = codec.writeStream(out, 0, codec.STDOUT, 1, data);
    assert.equal(end, out.length);
    const lens: number[] = [];
    for (let off = 0; off < out.length;) {
      const h = codec.decodeHeader(out, off);
      assert.ok(h.contentLength + h.paddingLength <= 65535);
      assert.equal((h.contentLength + h.paddingLength) % 8, 0);
      lens.push(h.contentLength);
      off += 8 + h.contentLength + h.paddingLength;
    }
    assert.deepEqual(lens, [65528, 65528, 3]);
    assert.equal(hex(out.subarray(2 * (8 + 65528))), "0106000100030500" + "070707" + "0000000000");
  });
  test("BEGIN_REQUEST body: role, KEEP_CONN flag", () => {
    assert.equal(hex(codec.beginRequestRecord(1, codec.RESPONDER, codec.KEEP_CONN)), "0101000100080000" + "0001010000000000");
  });
});

describe("RecordReader", () => {
  const stream = Buffer.concat([
    Buffer.from("0101000100080000" + "0001010000000000", "hex"),
    Buffer.from("01040001000f0100", "hex"), Buffer.from("0b02", "hex"), Buffer.from("SERVER_PORT80"), Buffer.alloc(1),
    Buffer.from("010400010000ff00", "hex"), Buffer.alloc(255), // empty PARAMS with 255 padding bytes
    Buffer.from("0105000100030500", "hex"), Buffer.from("abc"), Buffer.alloc(5),
    Buffer.from("0105000100000000", "hex"),
  ]);
  function run(chunks: Buffer[]): string[] {
    const events: string[] = [];
    let content = "";
    const r = new RecordReader({
      header(v, t, id, len) {
        events.push(`h ${v} ${t} ${id} ${len}`);
        content = "";
        return true;
      },
      content(chunk, start, end) {
        content += Buffer.from(chunk.subarray(start, end)).toString("latin1");
      },
      end() {
        events.push(`e ${JSON.stringify(content)}`);
        return true;
      },
    });
    for (const c of chunks) r.feed(c);
    assert.equal(r.midRecord, false);
    return events;
  }
  const expected = [
    "h 1 1 1 8", `e ${JSON.stringify("\x00\x01\x01\x00\x00\x00\x00\x00")}`,
    "h 1 4 1 15", `e ${JSON.stringify("\x0b\x02SERVER_PORT80")}`,
    "h 1 4 1 0", 'e ""',
    "h 1 5 1 3", 'e "abc"',
    "h 1 5 1 0", 'e ""',
  ];
  test("one chunk: headers, content without padding, record ends", () => {
    assert.deepEqual(run([stream]), expected);
  });
  test("byte by byte gives the same events", () => {
    const whole = run([stream]);
    const split = run([...stream].map((b) => Buffer.from([b])));
    assert.deepEqual(split, whole);
  });
  test("midRecord and missing while a record is incomplete", () => {
    const r = new RecordReader({ header: () => true, content() {}, end: () => true });
    r.feed(Buffer.from("01050001", "hex"));
    assert.equal(r.midRecord, true);
    assert.equal(r.missing, 4);
    r.feed(Buffer.from("0010000041", "hex"));
    assert.equal(r.missing, 15);
  });
});
