/**
 * A failed accept on Node is one log line and the listener goes on: node:net emits it as the
 * server's 'error' (with no listener, the process would die), and on the raw path
 * (adapters/node/native.ts) it arrives at onconnection as a negative errno. The failure is
 * injected where libuv hands it to Node: provoking a real one needs the kernel to refuse an
 * accept that libuv's own EMFILE handling does not absorb (test/runtimes/fd-limit.test.ts floods
 * the listeners for real).
 */
import assert from "node:assert/strict";
import { connect, createServer, type Server } from "node:net";
import { constants } from "node:os";
import { after, test } from "node:test";
import { acceptFailed, bind } from "../../adapters/node/bind.ts";
import { native, type RawHandle } from "../../adapters/node/native.ts";
import { openFilesLimit } from "../../src/bind.ts";

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

async function listening(log?: (line: string) => void): Promise<{ server: Server; port: number }> {
  const server = createServer((c) => c.end("hi"));
  servers.push(server);
  await bind(server, { host: "127.0.0.1", port: 0 }, "fastcgi", { log });
  return { server, port: (server.address() as { port: number }).port };
}

function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    const c = connect(port, "127.0.0.1");
    c.on("data", (d) => (got += d));
    c.on("end", () => resolve(got));
    c.on("error", reject);
  });
}

test("net.Server: an accept error is one line naming the address and the limit, and the server keeps serving", async () => {
  const lines: string[] = [];
  const { server, port } = await listening((l) => lines.push(l));
  server.emit("error", Object.assign(new Error("accept EMFILE"), { code: "EMFILE", syscall: "accept" }));
  server.emit("error", Object.assign(new Error("accept ENFILE"), { code: "ENFILE", syscall: "accept" }));
  assert.deepEqual(lines, [
    `fastcgi://127.0.0.1:${port}: accepting a connection failed: accept EMFILE: the process is out of file descriptors (its limit is ${openFilesLimit()}); raise it (ulimit -n, LimitNOFILE=) or lower the connections the server holds; still listening`,
    `fastcgi://127.0.0.1:${port}: accepting a connection failed: accept ENFILE: the system is out of file descriptors (fs.file-max); still listening`,
  ]);
  assert.equal(await greeting(port), "hi");
});

test("net.Server bound without a log: node:net's own behaviour (an 'error' with no listener throws)", async () => {
  const { server } = await listening();
  assert.throws(() => server.emit("error", new Error("accept ENOBUFS")), /ENOBUFS/);
});

test("raw path: onconnection's errno goes to `failed`, and accepting goes on", { skip: native() === null && "no raw handle here (Bun, Deno)" }, async () => {
  const nat = native()!;
  const server = createServer();
  servers.push(server);
  await bind(server, { host: "127.0.0.1", port: 0 }, "uwsgi");
  const port = (server.address() as { port: number }).port;
  const lines: string[] = [];
  const accepted: RawHandle[] = [];
  assert.ok(nat.takeOver(server, (h) => accepted.push(h), acceptFailed("uwsgi", server, { host: "127.0.0.1", port: 0 }, (l) => lines.push(l))));
  const onconnection = (server as unknown as { _handle: { onconnection(err: number, h?: RawHandle): void } })._handle.onconnection;
  onconnection(-constants.errno.ENOBUFS, undefined);
  assert.deepEqual(lines, [`uwsgi://127.0.0.1:${port}: accepting a connection failed: accept ENOBUFS; still listening`]);
  const c = connect(port, "127.0.0.1");
  for (let i = 0; i < 100 && accepted.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(accepted.length, 1, "the next connection is accepted");
  c.destroy();
  accepted[0].close();
});
