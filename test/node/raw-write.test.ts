/**
 * A response that the kernel cannot take at once, on the raw-handle path (FastCGI and uwsgi on
 * Node, adapters/node/native.ts): libuv writes the rest later, from the response's own memory.
 * Nothing but the pending write may still refer to that memory, so the write must keep it
 * alive. It did not: a body collected meanwhile went out as whatever the memory held by then
 * (seen first as a FastCGI connection that stopped answering after a few hundred multiplexed
 * requests on a unix socket; listener.test.ts has that case).
 *
 * Here the collection is forced: a 1 MiB body made fresh for the request, a client that reads
 * nothing until the server's write is pending, then garbage collections and new allocations
 * filled with 0xEE, then every byte checked.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Gateway, type SyncApp } from "../../src/index.ts";
import { listen as fastcgi } from "../../adapters/fastcgi/index.ts";
import { encodePacket, listen as uwsgi } from "../../adapters/uwsgi/index.ts";
import { native } from "../../adapters/node/native.ts";
import { cgi, request as fastcgiRequest } from "../fastcgi/client.ts";
import { nginxVars } from "../uwsgi/client.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const dir = mkdtempSync(join(tmpdir(), "tsgi-raw-write-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// 1 MiB: the largest body uwsgi's raw path writes itself (larger ones go through a net.Socket),
// and far more than a unix socket's buffer takes at once.
const SIZE = 1 << 20;
const pattern = (i: number) => (i * 7 + (i >> 12)) & 0xff;
const expected = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) expected[i] = pattern(i);

/** A fresh 1 MiB body per request: once handed over, only the server's write refers to it. */
const big: SyncApp = (_environ, startResponse) => {
  const body = Buffer.allocUnsafe(SIZE);
  expected.copy(body);
  startResponse("200 OK", [["Content-Type", "application/octet-stream"], ["Content-Length", String(SIZE)]]);
  return [body];
};

/** Send `request`, read nothing for a while (the server's write stays pending), collect garbage, then read everything. */
async function slowRead(path: string, request: Uint8Array): Promise<Buffer> {
  const s: Socket = connect(path);
  await new Promise<void>((r) => s.once("connect", () => r()));
  s.pause();
  s.write(request);
  await new Promise((r) => setTimeout(r, 200));
  for (let i = 0; i < 5; i++) {
    gc();
    // Fill what was freed with something recognisable.
    const junk = Array.from({ length: 16 }, () => Buffer.alloc(SIZE / 2, 0xee));
    void junk;
  }
  const chunks: Buffer[] = [];
  s.on("data", (d: Buffer) => chunks.push(d));
  await new Promise<void>((resolve) => {
    s.once("end", () => resolve());
    s.once("close", () => resolve());
    s.resume();
  });
  s.destroy();
  return Buffer.concat(chunks);
}

/** The first index where `got` differs from the pattern, or -1. */
function firstDifference(got: Buffer): number {
  if (got.length !== SIZE) return Math.min(got.length, SIZE);
  return got.equals(expected) ? -1 : got.findIndex((b, i) => b !== expected[i]);
}

const skip = native() === null && "no raw handle here";

test("uwsgi: a 1 MiB body written while the client reads nothing arrives intact across garbage collections", { skip }, async () => {
  const path = join(dir, "uwsgi.sock");
  const listener = await uwsgi(new Gateway(big, { log: () => {} }), { path });
  try {
    const raw = await slowRead(path, encodePacket(nginxVars("GET", "/big")));
    const sep = raw.indexOf("\r\n\r\n");
    assert.ok(raw.subarray(0, sep).toString("latin1").startsWith("HTTP/1.1 200 OK"), raw.subarray(0, 100).toString("latin1"));
    const body = raw.subarray(sep + 4);
    assert.equal(firstDifference(body), -1, `the body differs from what the app returned (${body.length} bytes)`);
  } finally {
    await listener.close(100);
  }
});

test("FastCGI: a 1 MiB response written while the client reads nothing arrives intact across garbage collections", { skip }, async () => {
  const path = join(dir, "fastcgi.sock");
  const listener = await fastcgi(new Gateway(big, { log: () => {} }), { path });
  try {
    const raw = await slowRead(path, fastcgiRequest(1, cgi("/big")));
    // STDOUT records (type 6) in order, then END_REQUEST: gather their content.
    const out: Buffer[] = [];
    let off = 0;
    let ended = false;
    while (off + 8 <= raw.length) {
      const type = raw[off + 1], len = raw.readUInt16BE(off + 4), pad = raw[off + 6];
      assert.equal(raw[off], 1, `record at ${off}: version byte ${raw[off]}`);
      if (type === 6) out.push(raw.subarray(off + 8, off + 8 + len));
      else if (type === 3) ended = true;
      off += 8 + len + pad;
    }
    assert.ok(ended, "END_REQUEST arrived");
    const stdout = Buffer.concat(out);
    const body = stdout.subarray(stdout.indexOf("\r\n\r\n") + 4);
    assert.equal(firstDifference(body), -1, `the body differs from what the app returned (${body.length} bytes)`);
  } finally {
    await listener.close(100);
  }
});
