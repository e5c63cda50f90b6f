/**
 * In-process helpers for the FastCGI protocol tests: a listener on an ephemeral port over a
 * Gateway, with every log line captured, and the small apps the tests drive.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Gateway, type AsyncApp, type Environ, type StartResponse, type SyncApp, type App } from "../../src/index.ts";
import { listen, type FastCgiOptions } from "../../adapters/fastcgi/index.ts";

export interface Running {
  target: { host: string; port: number } | { path: string };
  logs: string[];
  close(): Promise<void>;
}

/**
 * With TSGI_FASTCGI_TEST_UNIX=1 (unix.test.ts) the listeners go on unix sockets, else on TCP.
 * With TSGI_FASTCGI_TEST_PORTABLE=1 (portable.test.ts) every connection is a net.Socket (the
 * path Bun and Deno always take), else Node serves it on the raw accepted handle
 * (adapters/node/native.ts).
 */
const unix = process.env.TSGI_FASTCGI_TEST_UNIX === "1";
const portable = process.env.TSGI_FASTCGI_TEST_PORTABLE === "1";
let socketDir: string | null = null;
let sockets = 0;

/** Serve `app` over FastCGI on 127.0.0.1 (ephemeral port) or a unix socket; log lines are captured, not printed. */
export async function serveApp(app: App, options: FastCgiOptions & { mount?: string } = {}): Promise<Running> {
  const logs: string[] = [];
  const log = (line: string) => logs.push(line);
  const gateway = new Gateway(app, { log, mount: options.mount, errors: { write: (t) => logs.push("errors: " + t) } });
  if (unix) {
    if (socketDir === null) {
      const dir = (socketDir = mkdtempSync(join(tmpdir(), "tsgi-fcgi-raw-")));
      process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    }
    const path = join(socketDir, `${++sockets}.sock`);
    const listener = await listen(gateway, { path }, { log, portable, ...options });
    return { target: { path }, logs, close: () => listener.close(500) };
  }
  const listener = await listen(gateway, { host: "127.0.0.1", port: 0 }, { log, portable, ...options });
  const port = Number(/:(\d+)$/.exec(listener.url)![1]);
  return { target: { host: "127.0.0.1", port }, logs, close: () => listener.close(500) };
}

const text = (s: string): [string, string][] => [["Content-Type", "text/plain"], ["Content-Length", String(Buffer.byteLength(s))]];

/** Signals a test can fire to release a waiting handler. */
export const gates = new Map<string, () => void>();
export function gate(name: string): Promise<void> {
  return new Promise((resolve) => gates.set(name, resolve));
}
/** Records what the apps saw, for assertions. */
export const seen: Record<string, unknown> = {};

/** A sync app: PATH_INFO picks the behaviour. */
export const syncApp: SyncApp = (environ: Environ, startResponse: StartResponse) => {
  const path = environ.PATH_INFO;
  if (path === "/echo") {
    const body = environ["tsgi.input"].read();
    startResponse("200 OK", [["Content-Type", "application/octet-stream"], ["X-Content-Length", environ.CONTENT_LENGTH ?? "-"]]);
    return [body];
  }
  if (path === "/environ") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(environ)) if (typeof v === "string" || typeof v === "boolean") out[k] = v;
    const s = JSON.stringify(out);
    startResponse("200 OK", [["Content-Type", "application/json"]]);
    return [s];
  }
  if (path === "/stderr") {
    environ["tsgi.errors"].write("something to log\n");
    startResponse("200 OK", text("ok"));
    return ["ok"];
  }
  if (path.startsWith("/big/")) {
    const n = Number(path.slice(5));
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = i & 255;
    startResponse("200 OK", [["Content-Type", "application/octet-stream"]]);
    return [b];
  }
  if (path.startsWith("/chunks/")) {
    // The same bytes as /big/, as a stream of 64 KiB chunks (the listener's backpressure path).
    const n = Number(path.slice(8));
    startResponse("200 OK", [["Content-Type", "application/octet-stream"]]);
    return (function* () {
      for (let at = 0; at < n; at += 65536) {
        const b = Buffer.alloc(Math.min(65536, n - at));
        for (let i = 0; i < b.length; i++) b[i] = (at + i) & 255;
        yield b;
      }
    })();
  }
  if (path === "/literal") {
    startResponse("404 Not Here", [["Content-Type", "text/plain"]]);
    return ["Status: 200 OK\r\n\r\nFoo: bar\r\n"];
  }
  if (path === "/ignore-body") {
    startResponse("200 OK", text("ignored"));
    return ["ignored"];
  }
  if (path.startsWith("/close/")) {
    // A streaming iterable whose close() is recorded: ABORT_REQUEST must reach it.
    const id = path.slice(7);
    let i = 0;
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    return {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          yield `tick ${i++}\n`;
          await new Promise((r) => setTimeout(r, 20));
        }
      },
      close() {
        seen[`closed-${id}`] = true;
      },
    } as unknown as Iterable<string>;
  }
  startResponse("200 OK", text("hello"));
  return ["hello"];
};

/** An async app: `/wait/NAME` waits for gate NAME; `/disconnect/ID` waits for http.disconnect; `/slow-read` reads on demand. */
export const asyncApp: AsyncApp = async (scope, receive, send) => {
  if (scope.type !== "http") return;
  const path = scope.path;
  if (path.startsWith("/wait/")) {
    await gate(path.slice(6));
    await send({ type: "http.response.start", status: 200, headers: [["content-type", "text/plain"]] });
    await send({ type: "http.response.body", body: path });
    return;
  }
  if (path.startsWith("/disconnect/")) {
    const id = path.slice(12);
    for (;;) {
      const ev = await receive();
      if (ev.type === "http.disconnect") {
        seen[`disconnect-${id}`] = true;
        return;
      }
    }
  }
  if (path === "/slow-read") {
    // Reads only after the test opens the gate: the listener must stop reading its socket meanwhile.
    await gate("read");
    const hash = createHash("sha256");
    let n = 0;
    for (;;) {
      const ev = await receive();
      if (ev.type !== "http.request") break;
      hash.update(ev.body);
      n += ev.body.length;
      if (!ev.more_body) break;
    }
    const s = `${n} ${hash.digest("hex")}`;
    await send({ type: "http.response.start", status: 200, headers: [["content-type", "text/plain"]] });
    await send({ type: "http.response.body", body: s });
    return;
  }
  if (path === "/stream") {
    // No Content-Length: the body goes out as it comes, never chunk-encoded.
    await send({ type: "http.response.start", status: 200, headers: [["content-type", "text/plain"]] });
    for (let i = 0; i < 3; i++) await send({ type: "http.response.body", body: `part ${i}\n`, more_body: true });
    await send({ type: "http.response.body", body: "" });
    return;
  }
  await send({ type: "http.response.start", status: 200, headers: [["content-type", "text/plain"]] });
  await send({ type: "http.response.body", body: "async " + path });
};
