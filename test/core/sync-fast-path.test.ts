// The sync hot path: a one-string body reaches a sink that has endWithText as the string with its
// exact UTF-8 length, and the remembered headers list is validated again whenever it changes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { countUtf8, Gateway, responseHead, utf8Length, type App, type Environ, type Header, type HttpHead, type StartResponse } from "../../src/index.ts";
import { MemorySink } from "../../src/testing/index.ts";
import { syncReply } from "./helpers.ts";

class TextSink extends MemorySink {
  texts: [string, number][] = [];
  endWithText(text: string, byteLength: number): void {
    this.calls.push("endWithText");
    this.texts.push([text, byteLength]);
    this.ended = true;
  }
}

const GET: HttpHead = { method: "GET", target: "/", rawHeaders: [], httpVersion: "1.1", scheme: "http", serverName: "h", serverPort: "80" };

async function serve(app: App, head: HttpHead = GET): Promise<{ sink: TextSink; logs: string[] }> {
  const logs: string[] = [];
  const sink = new TextSink();
  await new Gateway(app, { log: (l) => logs.push(l) }).handleHttp(head, null, sink);
  return { sink, logs };
}

const H: Header[] = [["Content-Type", "text/plain; charset=utf-8"]];
const SAMPLES = ["Hello, World!", "héllo", "日本語", "emoji 😀 pair", "lone \ud800 high", "lone \udc00 low", "end high \ud83d", "\u07ff\u0800\uffff"];

test("utf8Length and countUtf8 agree with TextEncoder, lone surrogates included, short (counted) and long (native)", () => {
  const enc = new TextEncoder();
  for (const s of [...SAMPLES, ...SAMPLES.map((x) => x.repeat(9))]) {
    assert.equal(countUtf8(s), enc.encode(s).length, JSON.stringify(s));
    assert.equal(utf8Length(s), enc.encode(s).length, JSON.stringify(s));
  }
});

test("a one-string body goes to endWithText with its UTF-8 length and Content-Length", async () => {
  for (const s of SAMPLES) {
    const { sink } = await serve(syncReply("200 OK", H, [s]));
    const n = new TextEncoder().encode(s).length;
    assert.deepEqual(sink.calls, ["start", "endWithText"], JSON.stringify(s));
    assert.deepEqual(sink.texts, [[s, n]]);
    assert.deepEqual(sink.headers.at(-1), ["content-length", String(n)]);
  }
});

test("HEAD, 204 and an empty string send no body; byte chunks keep the bytes path", async () => {
  const head = await serve(syncReply("200 OK", H, ["abc"]), { ...GET, method: "HEAD" });
  assert.deepEqual(head.sink.calls, ["start", "end"]);
  assert.deepEqual(head.sink.headers.at(-1), ["Content-Type", "text/plain; charset=utf-8"]);
  const none = await serve(syncReply("204 No Content", [], ["x"]));
  assert.deepEqual(none.sink.calls, ["start", "end"]);
  const empty = await serve(syncReply("200 OK", H, [""]));
  assert.deepEqual(empty.sink.calls, ["start", "end"]);
  assert.deepEqual(empty.sink.headers.at(-1), ["content-length", "0"]);
  const bytes = await serve(syncReply("200 OK", H, [new Uint8Array([104, 105])]));
  assert.deepEqual(bytes.sink.calls, ["start", "write", "end"]);
});

test("the app's own Content-Length: matching takes endWithText, wrong falls back to the checked path", async () => {
  const ok = await serve(syncReply("200 OK", [["Content-Length", "5"]], ["héll"]));
  assert.deepEqual(ok.sink.calls, ["start", "endWithText"]);
  const long = await serve(syncReply("200 OK", [["Content-Length", "2"]], ["héll"]));
  assert.deepEqual(long.sink.calls, ["start", "write", "end"]);
  assert.deepEqual([...long.sink.body()], [104, 195]);
  assert.match(long.logs.join("\n"), /more than its Content-Length of 2/);
  const short = await serve(syncReply("200 OK", [["Content-Length", "9"]], ["héll"]));
  assert.deepEqual(short.sink.calls, ["start", "write", "abort"]);
  assert.match(short.logs.join("\n"), /sent 5 of its declared Content-Length 9/);
});

test("header-value: a constant headers list changed between requests is validated again", async () => {
  const headers: Header[] = [["Content-Type", "text/plain"]];
  const app = (_e: Environ, start: StartResponse) => {
    start("200 OK", headers);
    return ["x"];
  };
  assert.equal((await serve(app)).sink.status, 200);
  assert.equal((await serve(app)).sink.status, 200);
  headers[0][1] = "text/plain\r\nSet-Cookie: evil=1";
  const bad = await serve(app);
  assert.equal(bad.sink.status, 500);
  assert.match(bad.logs.join("\n"), /header-value/);
  headers[0] = ["Content-Type", "text/html"];
  assert.equal((await serve(app)).sink.status, 200);
  headers.push(["Transfer-Encoding", "chunked"]);
  assert.match((await serve(app)).logs.join("\n"), /hop-by-hop/);
});

test("responseHead: the kept head is given back only for the same prefix, status, reason and header strings", () => {
  const h = (v: string): [string, string][] => [["Content-Type", "text/plain"], ["Content-Length", v]];
  const cases: [string, number, string, [string, string][], string][] = [
    ["HTTP/1.1 ", 200, "OK", h("13"), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n"],
    ["HTTP/1.1 ", 200, "OK", h("13"), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n"],
    ["HTTP/1.1 ", 200, "OK", h("14"), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\n"],
    ["Status: ", 200, "OK", h("14"), "Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\n"],
    ["Status: ", 201, "OK", h("14"), "Status: 201 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\n"],
    ["Status: ", 201, "Created", h("14"), "Status: 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\n"],
    ["Status: ", 201, "Created", [["Content-Type", "text/plain"], ["Content-Lengtx", "14"]], "Status: 201 Created\r\nContent-Type: text/plain\r\nContent-Lengtx: 14\r\n\r\n"],
    ["Status: ", 201, "Created", [["Content-Type", "text/plain"]], "Status: 201 Created\r\nContent-Type: text/plain\r\n\r\n"],
    ["HTTP/1.0 ", 204, "No Content", [], "HTTP/1.0 204 No Content\r\n\r\n"],
  ];
  for (const [prefix, status, reason, headers, want] of cases) assert.equal(responseHead(prefix, status, reason, headers), want);
});
