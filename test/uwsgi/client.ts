/**
 * A test-side uwsgi client: sends exactly the bytes a test wants (well-formed packets, or
 * broken ones) and reads the raw response until the listener closes.
 */
import { connect, type Socket } from "node:net";
import { encodePacket } from "../../adapters/uwsgi/index.ts";

export type Target = { host: string; port: number } | { path: string };

export interface Exchange {
  /** Everything the listener sent. */
  bytes: Buffer;
  /** How the connection ended: the listener closed it (eof), reset it, or we gave up (timeout). */
  end: "eof" | "reset" | "timeout";
}

export interface ExchangeOptions {
  /** Shut our write side after sending (default false: real front servers never half-close). */
  halfClose?: boolean;
  /** Give up after this many ms (default 5000). */
  timeoutMs?: number;
  /** Milliseconds between the pieces of `data` when it is an array. */
  gapMs?: number;
}

/** Send `data` (one buffer, or pieces sent `gapMs` apart) and collect the reply until close. */
export function exchange(target: Target, data: Uint8Array | Uint8Array[], opts: ExchangeOptions = {}): Promise<Exchange> {
  return new Promise((resolve) => {
    const sock: Socket = "path" in target ? connect(target.path) : connect(target.port, target.host);
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (end: Exchange["end"]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ bytes: Buffer.concat(chunks), end });
    };
    const timer = setTimeout(() => finish("timeout"), opts.timeoutMs ?? 5000);
    sock.on("data", (d) => chunks.push(d));
    sock.on("end", () => finish("eof"));
    sock.on("error", (e: NodeJS.ErrnoException) => finish(e.code === "ECONNRESET" ? "reset" : "eof"));
    sock.on("connect", async () => {
      const pieces = Array.isArray(data) ? data : [data];
      for (let i = 0; i < pieces.length; i++) {
        if (i > 0 && opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
        if (sock.destroyed) return;
        sock.write(pieces[i]);
      }
      if (opts.halfClose) sock.end();
    });
  });
}

export interface Response {
  statusLine: string;
  status: number;
  headers: [string, string][];
  body: Buffer;
  raw: Buffer;
  end: Exchange["end"];
}

/** Split a raw HTTP/1.x response; throws if there is no complete head. */
export function parseResponse(raw: Buffer, end: Exchange["end"] = "eof"): Response {
  const sep = raw.indexOf("\r\n\r\n");
  if (sep < 0) throw new Error(`no complete response head in ${JSON.stringify(raw.toString("latin1").slice(0, 200))} (${end})`);
  const lines = raw.subarray(0, sep).toString("latin1").split("\r\n");
  const statusLine = lines[0];
  const headers = lines.slice(1).map((l): [string, string] => {
    const i = l.indexOf(":");
    return [l.slice(0, i), l.slice(i + 1).trim()];
  });
  return { statusLine, status: Number(statusLine.split(" ")[1]), headers, body: raw.subarray(sep + 4), raw, end };
}

/** The vars nginx's Debian uwsgi_params sends for a request, as a base to modify. */
export function nginxVars(method: string, uri: string, extra: Record<string, string> = {}): Record<string, string> {
  const q = uri.indexOf("?");
  const path = q < 0 ? uri : uri.slice(0, q);
  return {
    QUERY_STRING: q < 0 ? "" : uri.slice(q + 1),
    REQUEST_METHOD: method,
    CONTENT_TYPE: "",
    CONTENT_LENGTH: "",
    REQUEST_URI: uri,
    PATH_INFO: decodeURIComponent(path),
    DOCUMENT_ROOT: "/usr/share/nginx/html",
    SERVER_PROTOCOL: "HTTP/1.1",
    REQUEST_SCHEME: "http",
    REMOTE_ADDR: "127.0.0.1",
    REMOTE_PORT: "50000",
    SERVER_PORT: "8080",
    SERVER_NAME: "localhost",
    HTTP_HOST: "localhost",
    ...extra,
  };
}

/** One well-formed request; resolves with the parsed response. */
export async function request(target: Target, vars: Record<string, string>, body?: Uint8Array, opts?: ExchangeOptions): Promise<Response> {
  const r = await exchange(target, encodePacket(vars, body), opts);
  return parseResponse(r.bytes, r.end);
}
