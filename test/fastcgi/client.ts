/**
 * A test-side FastCGI client (the web server's side), written independently of the adapter's
 * codec so that the two check each other. It sends exactly the records a test asks for, including
 * broken ones, and collects what comes back per request id.
 */
import { connect, type Socket } from "node:net";

export const T = { BEGIN: 1, ABORT: 2, END: 3, PARAMS: 4, STDIN: 5, STDOUT: 6, STDERR: 7, DATA: 8, GET_VALUES: 9, GET_VALUES_RESULT: 10, UNKNOWN_TYPE: 11 };

export interface Rec {
  version: number;
  type: number;
  id: number;
  content: Buffer;
  padding: number;
}

/** One record's bytes; `pad` defaults to the 8-byte alignment nginx uses. */
export function rec(type: number, id: number, content: Uint8Array | string = Buffer.alloc(0), pad?: number, version = 1): Buffer {
  const c = typeof content === "string" ? Buffer.from(content, "latin1") : Buffer.from(content);
  const p = pad ?? (-c.length & 7);
  const h = Buffer.alloc(8);
  h[0] = version;
  h[1] = type;
  h.writeUInt16BE(id, 2);
  h.writeUInt16BE(c.length, 4);
  h[6] = p;
  return Buffer.concat([h, c, Buffer.alloc(p)]);
}

export function begin(id: number, role = 1, flags = 0): Buffer {
  return rec(T.BEGIN, id, Buffer.from([role >> 8, role & 255, flags, 0, 0, 0, 0, 0]));
}

function len(n: number): Buffer {
  if (n < 128) return Buffer.from([n]);
  const b = Buffer.alloc(4);
  b.writeUInt32BE((n | 0x80000000) >>> 0);
  return b;
}

/** Name-value pairs as one byte block (names/values are Latin-1 strings). */
export function pairs(list: [string, string][] | Record<string, string>): Buffer {
  const entries = Array.isArray(list) ? list : Object.entries(list);
  return Buffer.concat(entries.flatMap(([n, v]) => [len(n.length), len(v.length), Buffer.from(n, "latin1"), Buffer.from(v, "latin1")]));
}

/** A stream (PARAMS, STDIN) cut into records of at most `size` bytes, then its empty record. */
export function stream(type: number, id: number, data: Uint8Array, size = 65535, end = true): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) parts.push(rec(type, id, data.subarray(i, i + size)));
  if (end) parts.push(rec(type, id));
  return Buffer.concat(parts);
}

/** A whole request as nginx sends it: BEGIN, PARAMS, empty PARAMS, STDIN, empty STDIN. */
export function request(id: number, params: Record<string, string>, body: Uint8Array | string = "", opts: { flags?: number; paramsRecord?: number; stdinRecord?: number; role?: number } = {}): Buffer {
  const b = typeof body === "string" ? Buffer.from(body) : body;
  return Buffer.concat([
    begin(id, opts.role ?? 1, opts.flags ?? 0),
    stream(T.PARAMS, id, pairs(params), opts.paramsRecord),
    stream(T.STDIN, id, b, opts.stdinRecord),
  ]);
}

/** The CGI params a minimal GET carries. */
export function cgi(path: string, extra: Record<string, string> = {}): Record<string, string> {
  const [p, q = ""] = path.split("?");
  return {
    REQUEST_METHOD: "GET", REQUEST_URI: path, SCRIPT_NAME: "", PATH_INFO: p, QUERY_STRING: q,
    SERVER_NAME: "localhost", SERVER_PORT: "80", SERVER_PROTOCOL: "HTTP/1.1", REMOTE_ADDR: "127.0.0.1", ...extra,
  };
}

/** What came back for one request id. */
export interface Reply {
  stdout: Buffer;
  stderr: Buffer;
  /** END_REQUEST body, when it arrived. */
  end?: { appStatus: number; protocolStatus: number };
  /** STDOUT records as received (sizes, for framing checks). */
  records: Rec[];
}

/** The CGI response on STDOUT split into status, headers (lower-case names) and body. */
export function parseCgi(stdout: Buffer): { status: number; headers: Record<string, string>; body: Buffer } {
  const sep = stdout.indexOf("\r\n\r\n");
  if (sep < 0) throw new Error(`no header block end in ${JSON.stringify(stdout.toString("latin1").slice(0, 200))}`);
  const headers: Record<string, string> = {};
  for (const line of stdout.subarray(0, sep).toString("latin1").split("\r\n")) {
    const i = line.indexOf(":");
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: Number((headers.status ?? "200").slice(0, 3)), headers, body: stdout.subarray(sep + 4) };
}

export class Client {
  readonly replies = new Map<number, Reply>();
  readonly management: Rec[] = [];
  /** Every record in arrival order. */
  readonly log: Rec[] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => {});
  }

  static open(target: { host: string; port: number } | { path: string }): Promise<Client> {
    return new Promise((resolve, reject) => {
      const s = "path" in target ? connect(target.path) : connect(target.port, target.host);
      s.once("connect", () => resolve(new Client(s)));
      s.once("error", reject);
    });
  }

  send(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve) => this.socket.write(bytes, () => resolve()));
  }

  reply(id: number): Reply {
    let r = this.replies.get(id);
    if (!r) this.replies.set(id, (r = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), records: [] }));
    return r;
  }

  private parse(): void {
    while (this.buf.length >= 8) {
      const cl = this.buf.readUInt16BE(4);
      const pl = this.buf[6];
      if (this.buf.length < 8 + cl + pl) return;
      const r: Rec = { version: this.buf[0], type: this.buf[1], id: this.buf.readUInt16BE(2), content: this.buf.subarray(8, 8 + cl), padding: pl };
      this.buf = this.buf.subarray(8 + cl + pl);
      this.log.push(r);
      if (r.id === 0) {
        this.management.push(r);
        continue;
      }
      const rep = this.reply(r.id);
      if (r.type === T.STDOUT) {
        rep.stdout = Buffer.concat([rep.stdout, r.content]);
        rep.records.push(r);
      } else if (r.type === T.STDERR) rep.stderr = Buffer.concat([rep.stderr, r.content]);
      else if (r.type === T.END) rep.end = { appStatus: r.content.readUInt32BE(0), protocolStatus: r.content[4] };
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Wait until `cond` holds (checked on every arrival), or fail after `ms`. */
  async until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** Wait for END_REQUEST of `id`. */
  async ended(id: number, ms = 5000): Promise<Reply> {
    await this.until(() => this.replies.get(id)?.end !== undefined || this.closed, `END_REQUEST for request ${id}`, ms);
    const r = this.reply(id);
    if (!r.end) throw new Error(`connection closed before END_REQUEST for request ${id}`);
    return r;
  }

  /** Wait for the server to close the connection. */
  async closedByServer(ms = 5000): Promise<void> {
    await this.until(() => this.closed, "the server to close the connection", ms);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** One request on a fresh connection; resolves with its reply once END_REQUEST arrives. */
export async function once(target: { host: string; port: number } | { path: string }, params: Record<string, string>, body: Uint8Array | string = "", opts: Parameters<typeof request>[3] = {}): Promise<Reply> {
  const c = await Client.open(target);
  try {
    await c.send(request(1, params, body, opts));
    return await c.ended(1);
  } finally {
    c.destroy();
  }
}
