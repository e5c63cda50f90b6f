/**
 * Bad input from the web server side: each case ends that request or that connection cleanly,
 * with exactly one log line saying what was wrong, and the listener keeps serving (a good
 * request on a new connection succeeds afterwards).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { serveApp, syncApp, type Running } from "./apps.ts";
import { begin, cgi, Client, once, pairs, parseCgi, rec, request, stream, T } from "./client.ts";

let s: Running;
before(async () => {
  s = await serveApp(syncApp, { readTimeout: 300, maxParamsSize: 4096 });
});
after(() => s.close());

/** Run `body`, then check it logged exactly one line matching `re` and that a new connection is served. */
async function expectOneLine(re: RegExp, body: () => Promise<void>): Promise<void> {
  const before = s.logs.length;
  await body();
  await new Promise((r) => setTimeout(r, 30));
  const lines = s.logs.slice(before);
  assert.equal(lines.length, 1, `one log line expected, got:\n${lines.join("\n")}`);
  assert.match(lines[0], re);
  const ok = await once(s.target, cgi("/"));
  assert.equal(parseCgi(ok.stdout).body.toString(), "hello", "a good request afterwards");
}

describe("bad input", () => {
  test("a record truncated by EOF: the connection's requests end, one line", async () => {
    await expectOneLine(/closed the connection in the middle of a record \(\d+ bytes missing\)/, async () => {
      const c = await Client.open(s.target);
      const params = stream(T.PARAMS, 1, pairs(cgi("/")));
      await c.send(Buffer.concat([begin(1), params.subarray(0, 12)]));
      c.socket.end();
      await c.closedByServer();
    });
  });

  test("a wrong version byte closes the connection", async () => {
    await expectOneLine(/record with version byte 2 \(FastCGI 1 expects 1\); connection closed/, async () => {
      const c = await Client.open(s.target);
      await c.send(rec(T.BEGIN, 1, Buffer.from([0, 1, 0, 0, 0, 0, 0, 0]), 0, 2));
      await c.closedByServer();
      assert.equal(c.log.length, 0, "nothing is answered on a broken connection");
    });
  });

  test("a record content length that lies (BEGIN_REQUEST of 5 bytes) closes the connection", async () => {
    await expectOneLine(/BEGIN_REQUEST for request 1 has 5 content bytes \(8 expected\)/, async () => {
      const c = await Client.open(s.target);
      await c.send(rec(T.BEGIN, 1, Buffer.from([0, 1, 0, 0, 0])));
      await c.closedByServer();
    });
  });

  test("CONTENT_LENGTH longer than STDIN, body complete on arrival: the app gets STDIN, the length is corrected", async () => {
    await expectOneLine(/CONTENT_LENGTH says 10 but STDIN carried 3 bytes/, async () => {
      const r = await once(s.target, cgi("/echo", { REQUEST_METHOD: "POST", CONTENT_LENGTH: "10" }), "abc");
      const res = parseCgi(r.stdout);
      assert.equal(res.body.toString(), "abc");
      assert.equal(res.headers["x-content-length"], "3");
    });
  });

  test("CONTENT_LENGTH longer than a streamed STDIN: 400, one line", async () => {
    await expectOneLine(/ended after 3 of 10 announced bytes; answered 400/, async () => {
      const c = await Client.open(s.target);
      await c.send(Buffer.concat([begin(1), stream(T.PARAMS, 1, pairs(cgi("/echo", { REQUEST_METHOD: "POST", CONTENT_LENGTH: "10" })))]));
      await new Promise((r) => setTimeout(r, 50)); // the request starts before its STDIN arrives
      await c.send(stream(T.STDIN, 1, Buffer.from("abc")));
      assert.equal(parseCgi((await c.ended(1)).stdout).status, 400);
      c.destroy();
    });
  });

  test("PARAMS over the configured limit: 431 for that request, the connection stays usable", async () => {
    await expectOneLine(/PARAMS exceed the limit of 4096 bytes; answered 431/, async () => {
      const c = await Client.open(s.target);
      await c.send(request(1, cgi("/", { HTTP_X_BIG: "b".repeat(5000) }), "body", { flags: 1, paramsRecord: 1000 }));
      const r = await c.ended(1);
      assert.equal(parseCgi(r.stdout).status, 431);
      await c.send(request(1, cgi("/"), "", { flags: 1 }));
      await c.until(() => c.log.filter((x) => x.type === T.END).length === 2, "the next request on the same connection");
      c.destroy();
    });
  });

  test("malformed PARAMS (a length running past the stream): 400 for that request", async () => {
    await expectOneLine(/malformed PARAMS .*; answered 400/, async () => {
      const c = await Client.open(s.target);
      await c.send(Buffer.concat([begin(1), rec(T.PARAMS, 1, Buffer.from([5, 80, 65])), rec(T.PARAMS, 1), rec(T.STDIN, 1)]));
      assert.equal(parseCgi((await c.ended(1)).stdout).status, 400);
      c.destroy();
    });
  });

  test("a request id reused while active closes the connection", async () => {
    await expectOneLine(/BEGIN_REQUEST for request id 1, which is still active; connection closed/, async () => {
      const c = await Client.open(s.target);
      await c.send(Buffer.concat([begin(1, 1, 1), begin(1, 1, 1)]));
      await c.closedByServer();
    });
  });

  test("records for an id that was never begun are ignored; the connection keeps serving", async () => {
    await expectOneLine(/ignoring a record of type 5 for request id 7/, async () => {
      const c = await Client.open(s.target);
      await c.send(Buffer.concat([rec(T.STDIN, 7, "zzz"), rec(T.PARAMS, 9, "q"), rec(T.STDIN, 7), request(1, cgi("/"), "", { flags: 1 })]));
      assert.equal(parseCgi((await c.ended(1)).stdout).body.toString(), "hello");
      c.destroy();
    });
  });

  test("STDIN before PARAMS ended closes the connection", async () => {
    await expectOneLine(/STDIN for request 1 before its PARAMS ended/, async () => {
      const c = await Client.open(s.target);
      await c.send(Buffer.concat([begin(1), rec(T.PARAMS, 1, pairs(cgi("/"))), rec(T.STDIN, 1, "x")]));
      await c.closedByServer();
    });
  });

  test("a peer that stalls mid-record is cut after readTimeout", async () => {
    await expectOneLine(/no bytes from the web server for \d+ s in the middle of a record \(4 bytes missing\) \(readTimeout 300 ms\)/, async () => {
      const c = await Client.open(s.target);
      const t0 = Date.now();
      await c.send(Buffer.concat([begin(1), Buffer.from([1, 4, 0, 1])]));
      await c.closedByServer(3000);
      assert.ok(Date.now() - t0 >= 300);
    });
  });

  test("a peer that stops sending STDIN is cut after readTimeout", async () => {
    await expectOneLine(/while request 1 waited for STDIN/, async () => {
      const c = await Client.open(s.target);
      await c.send(Buffer.concat([begin(1), stream(T.PARAMS, 1, pairs(cgi("/echo", { REQUEST_METHOD: "POST" }))), rec(T.STDIN, 1, "part")]));
      await c.closedByServer(3000);
    });
  });
});
