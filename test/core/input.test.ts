import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BodyIncomplete, BodyTooLarge, collectInput, FileInput, MemoryInput, type Environ, type StartResponse } from "../../src/index.ts";
import { run } from "./helpers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield enc.encode(p);
}

test("below the threshold the body stays in memory", async () => {
  const input = await collectInput(chunks("ab", "cd"), { maxBody: 100, spillThreshold: 10 });
  assert.ok(input instanceof MemoryInput);
  assert.equal(dec.decode(input.read()), "abcd");
});

test("past the threshold it spills to an unlinked 0600 file: nothing left in tmpDir, reads intact", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsgi-spill-"));
  try {
    const input = await collectInput(chunks("line one\nline ", "two\n", "line three\nrest"), { maxBody: 1000, spillThreshold: 8, tmpDir: dir });
    assert.ok(input instanceof FileInput);
    assert.deepEqual(readdirSync(dir), []);
    assert.equal(input.length, 33);
    assert.equal(dec.decode(input.readLine()), "line one\n");
    assert.equal(dec.decode(input.readLine()), "line two\n"); // across the chunks written before and after the spill
    assert.equal(dec.decode(input.readLine(4)), "line");
    assert.equal(dec.decode(input.read(7)), " three\n");
    assert.equal(dec.decode(input.readLine()), "rest");
    assert.equal(input.readLine().length, 0);
    assert.equal(input.read().length, 0);
    input.seek(5);
    assert.equal(dec.decode(input.read(3)), "one");
    input.seek(-10);
    assert.equal(dec.decode(input.read(4)), "line");
    input.seek(1e9);
    assert.equal(input.read(1).length, 0);
    input.seek(0);
    assert.deepEqual([...input].map((l) => dec.decode(l)), ["line one\n", "line two\n", "line three\n", "rest"]);
    input.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("readLine finds a newline beyond the 64 KiB read window of a spilled body", async () => {
  const big = "x".repeat(70000) + "\nend";
  const input = await collectInput(chunks(big.slice(0, 40000), big.slice(40000)), { maxBody: 1e6, spillThreshold: 1000 });
  assert.ok(input instanceof FileInput);
  assert.equal(input.readLine().length, 70001);
  assert.equal(dec.decode(input.readLine()), "end");
  input.dispose();
});

test("413: an announced length over the limit fails before reading; a stream fails as it passes it", async () => {
  let pulled = false;
  const lazy = (async function* () { pulled = true; yield new Uint8Array(1); })();
  await assert.rejects(collectInput(lazy, { maxBody: 10, spillThreshold: 5, expected: 11 }), BodyTooLarge);
  assert.equal(pulled, false);
  await assert.rejects(collectInput(chunks("123456", "789012"), { maxBody: 10, spillThreshold: 5 }), BodyTooLarge);
  await assert.rejects(collectInput(chunks("12"), { maxBody: 10, spillThreshold: 5, expected: 5 }), BodyIncomplete);
});

test("a sync app reads a spilled body through the Gateway, and the temp file is closed afterwards", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsgi-spill-"));
  let kept: FileInput | null = null;
  try {
    const app = (env: Environ, start: StartResponse) => {
      const input = env["tsgi.input"];
      kept = input as FileInput;
      const first = dec.decode(input.readLine());
      start("200 OK", [["Content-Type", "text/plain"]]);
      return [`${input instanceof FileInput}|${first.trim()}|${input.read().length}`];
    };
    const body = (async function* () { yield enc.encode("head\n"); for (let i = 0; i < 20; i++) yield new Uint8Array(1000); })();
    const { r } = await run(app, "/", { method: "POST", body }, { spillThreshold: 4096, tmpDir: dir });
    assert.equal(r.text(), "true|head|20000");
    kept!.seek(0);
    assert.throws(() => kept!.read(1)); // disposed: the fd is closed
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
