/**
 * Reading on the raw-handle path (adapters/node/native.ts): `read()` hands every chunk over in
 * one buffer shared by all handles (no allocation per read), and `socket()` passes a handle on
 * to a net.Socket that reads with its own reused buffer and hands each chunk over as a copy.
 * A handle that read into our buffer cannot go back to Node's allocation, so the socket must
 * still work after `read()`: data in order and intact, pause() and resume(), 'end', writes.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { native, type RawHandle, type RawSink } from "../../adapters/node/native.ts";

const nat = native();
const dir = mkdtempSync(join(tmpdir(), "tsgi-raw-read-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A unix-socket server whose accepted handles go to `onHandle`, and a connected client. */
async function pair(name: string, onHandle: (h: RawHandle) => void): Promise<{ server: Server; client: Socket }> {
  const path = join(dir, name);
  const server = createServer();
  await new Promise<void>((r) => server.listen(path, r));
  assert.ok(nat!.takeOver(server, onHandle, (errno) => assert.fail(`accept failed: ${errno}`)));
  const client = connect(path);
  await new Promise<void>((r) => client.once("connect", () => r()));
  return { server, client };
}

test("read(): every chunk arrives in the one shared buffer, as (buffer, length)", { skip: nat === null && "no raw path on this runtime" }, async () => {
  const seen: { buf: Buffer; text: string }[] = [];
  let ended = false;
  const sinks: RawSink[] = [];
  const { server, client } = await pair("shared.sock", (h) => {
    const sink: RawSink = {
      rawData: (buf, len) => seen.push({ buf, text: buf.toString("latin1", 0, len) }),
      rawEnd: () => { ended = true; h.close(); },
      rawError: () => h.close(),
    };
    sinks.push(sink);
    nat!.read(h, sink);
  });
  const second = connect(join(dir, "shared.sock"));
  await new Promise<void>((r) => second.once("connect", () => r()));
  client.write("first connection");
  await sleep(50);
  second.write("second");
  await sleep(50);
  client.end("!");
  second.end();
  for (let i = 0; i < 100 && !ended; i++) await sleep(10);
  server.close();
  assert.deepEqual(seen.map((s) => s.text), ["first connection", "second", "!"]);
  assert.equal(sinks.length, 2);
  // One buffer for every read of every handle: a sink that keeps bytes must copy them.
  assert.ok(seen.every((s) => s.buf === seen[0].buf));
  assert.equal(seen[0].buf.toString("latin1", 0, 6), "!econd");
});

for (const readFirst of [true, false]) {
  test(`socket() ${readFirst ? "after read()" : "without read()"}: owned chunks, pause and resume, end, writes`, { skip: nat === null && "no raw path on this runtime" }, async () => {
    const chunks: Buffer[] = [];
    let socket: Socket | null = null;
    let ended = false;
    const { server, client } = await pair(`socket-${readFirst}.sock`, (h) => {
      const passOn = () => {
        socket = nat!.socket(h, (chunk) => chunks.push(chunk));
        socket.on("end", () => {
          ended = true;
          socket!.end("bye");
        });
      };
      if (!readFirst) return passOn();
      // The first bytes come through read(), then the handle goes to a net.Socket for the rest.
      nat!.read(h, {
        rawData: (buf, len) => {
          chunks.push(Buffer.from(buf.subarray(0, len)));
          passOn();
        },
        rawEnd: () => h.close(),
        rawError: () => h.close(),
      });
    });
    const reply: Buffer[] = [];
    client.on("data", (d: Buffer) => reply.push(d));
    const closed = new Promise<void>((r) => client.once("close", () => r()));
    client.write("one");
    for (let i = 0; i < 100 && socket === null; i++) await sleep(5);
    await sleep(20);
    socket!.pause();
    client.write("two");
    await sleep(60);
    const whilePaused = chunks.length;
    socket!.resume();
    await sleep(40);
    client.write(Buffer.alloc(200_000, 0x61)); // several reads of the socket's 64 KiB buffer
    await sleep(80);
    client.end();
    await closed;
    server.close();
    assert.ok(ended, "'end' reaches the socket");
    assert.equal(Buffer.concat(reply).toString(), "bye");
    const text = Buffer.concat(chunks).toString("latin1");
    assert.equal(text, "onetwo" + "a".repeat(200_000), "every byte, in order, intact after later reads");
    assert.equal(whilePaused, 1, "nothing is delivered while paused");
  });
}
