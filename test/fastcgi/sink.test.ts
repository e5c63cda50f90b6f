/**
 * The FastCGI response sink on its own, over a wire that records each socket write: how output is
 * coalesced into records and writes (one write for a typical response), and what an abort sends.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FastCgiSink, type SinkOwner, type Wire } from "../../adapters/fastcgi/sink.ts";
import { rec, T } from "./client.ts";

function setup(): { sink: FastCgiSink; writes: Buffer[]; events: string[] } {
  const writes: Buffer[] = [];
  const events: string[] = [];
  const wire: Wire = {
    write: (bytes) => (writes.push(Buffer.from(bytes)), true),
    drained: () => Promise.resolve(),
  };
  const owner: SinkOwner = {
    ended: () => void events.push("ended"),
    aborted: () => void events.push("aborted"),
  };
  return { sink: new FastCgiSink(1, wire, owner), writes, events };
}

const END = Buffer.from("0103000100080000" + "0000000000000000", "hex");
const hops = async (n: number) => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};

describe("FastCgiSink", () => {
  test("head, body and end a few promise hops apart (as the core does): one write, byte for byte", async () => {
    const { sink, writes, events } = setup();
    sink.start(200, "OK", [["Content-Type", "text/plain"]]);
    sink.write(Buffer.from("hello"));
    await hops(5);
    sink.end();
    const head = "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n";
    assert.equal(writes.length, 1);
    assert.equal(writes[0].toString("hex"), Buffer.concat([rec(T.STDOUT, 1, head + "hello"), rec(T.STDOUT, 1), END]).toString("hex"));
    assert.deepEqual(events, ["ended"]);
  });

  test("output not ended goes out once the event-loop turn is over (a streamed head is not held back)", async () => {
    const { sink, writes } = setup();
    sink.start(200, "OK", []);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(writes.length, 1);
    assert.equal(writes[0].toString("latin1").slice(8, 24), "Status: 200 OK\r\n");
  });

  test("an abort sends what the app produced, then tells the connection to cut (no END_REQUEST)", async () => {
    const { sink, writes, events } = setup();
    sink.start(200, "OK", []);
    sink.write(Buffer.from("first"));
    sink.abort(new Error("app failed"));
    assert.equal(writes.length, 1);
    assert.equal(writes[0].toString("hex"), rec(T.STDOUT, 1, "Status: 200 OK\r\n\r\nfirst").toString("hex"));
    assert.deepEqual(events, ["aborted"]);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(writes.length, 1, "nothing more after the abort");
  });
});
