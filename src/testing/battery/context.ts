/**
 * What a battery case gets: where the server is, the mount, and request helpers that build
 * exact request bytes. Cases never talk to the server any other way.
 */
import { randomBytes } from "node:crypto";
import { Connection, type Endpoint, type RawResponse } from "./client.ts";

/**
 * Transport features a case may need. A transport that lacks one passes a reason string in
 * `runBattery({ capabilities })`; cases needing it are then skipped with that reason.
 */
export interface Capabilities {
  /** Many requests on one client connection (HTTP/1.1 keep-alive). */
  keepAlive: true | string;
  /** Several requests written at once on one connection, answered in order. */
  pipelining: true | string;
  /** `Expect: 100-continue` answered with an interim 100 before the body is sent. */
  continue100: true | string;
  /** `Transfer-Encoding: chunked` request bodies. */
  chunkedRequest: true | string;
  /** Response chunks reach the client while the app is still producing (no full buffering). */
  streaming: true | string;
  /** The reference app's close() records survive between requests (set TSGI_BATTERY_STATE for CGI). */
  sharedState: true | string;
  /** A client that goes away makes the server stop the app and call close(). */
  disconnect: true | string;
  /** `Authorization` reaches the app (Apache's CGI hides it by default). */
  authorization: true | string;
  /** `%2F` in a path is accepted and decoded (Apache refuses it unless AllowEncodedSlashes). */
  encodedSlash: true | string;
  /** The app's Content-Length reaches the client as sent (a front server may re-frame). */
  contentLength: true | string;
  /** HTTP/1.0 requests are answered and the connection closed (a front server may upgrade them). */
  http10: true | string;
}

export type Capability = keyof Capabilities;

/** One request, as exact as a case needs it. */
export interface RequestSpec {
  method?: string;
  /** Path below the mount, with query; sent as Latin-1 bytes exactly as given. */
  path: string;
  /** Extra header lines, in order; repeats allowed. */
  headers?: [string, string][];
  /** Body with a Content-Length (unless `chunked`). */
  body?: Uint8Array | string;
  /** Send the body as these chunks with Transfer-Encoding: chunked. */
  chunks?: (Uint8Array | string)[];
  /** `HTTP/1.1` unless set. */
  version?: "1.0" | "1.1";
  /** Leave out the Host header (it is added by default). */
  noHost?: boolean;
  /** Ask for a kept-alive connection (default: `Connection: close` on one-shot requests). */
  keepAlive?: boolean;
}

export interface BatteryContext {
  readonly endpoint: Endpoint;
  /** The Host header the battery sends, and the SERVER_NAME/SERVER_PORT it implies. */
  readonly host: string;
  readonly serverName: string;
  readonly serverPort: string;
  /** SCRIPT_NAME the app is mounted at ("" for the root). */
  readonly mount: string;
  /** mount + path. */
  url(path: string): string;
  /** The bytes of a request. */
  encode(spec: RequestSpec): Buffer;
  /** A one-shot request on a new connection. */
  request(spec: RequestSpec, opts?: { timeoutMs?: number }): Promise<RawResponse>;
  /** A new connection for cases that drive it themselves. */
  connect(): Promise<Connection>;
  /** GET/POST/... the default route and parse the environ JSON it answers (status must be 200). */
  environ(spec: RequestSpec): Promise<Record<string, unknown>>;
  /** A fresh id for cases that record state in the app. */
  id(): string;
  readonly capabilities: Capabilities;
}

/** Turn `http://host:port`, `http://[::1]:port` or `unix:/path.sock` into an endpoint. */
export function parseBaseUrl(baseUrl: string): Endpoint {
  if (baseUrl.startsWith("unix:")) return { path: baseUrl.slice(5) };
  const u = new URL(baseUrl);
  if (u.protocol !== "http:") throw new Error(`battery baseUrl must be http://HOST:PORT or unix:/path, got ${baseUrl}`);
  return { host: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port || 80) };
}

const toBytes = (b: Uint8Array | string): Buffer => (typeof b === "string" ? Buffer.from(b, "utf8") : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

export function makeContext(endpoint: Endpoint, mount: string, capabilities: Capabilities): BatteryContext {
  const host = "path" in endpoint ? "localhost" : `${endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
  const serverName = "path" in endpoint ? "localhost" : endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host;
  const serverPort = "path" in endpoint ? "80" : String(endpoint.port);
  const ctx: BatteryContext = {
    endpoint, host, serverName, serverPort, mount, capabilities,
    url: (path) => mount + path,
    encode(spec) {
      let head = `${spec.method ?? "GET"} ${mount + spec.path} HTTP/${spec.version ?? "1.1"}\r\n`;
      if (!spec.noHost) head += `Host: ${host}\r\n`;
      for (const [n, v] of spec.headers ?? []) head += `${n}: ${v}\r\n`;
      if (!spec.keepAlive) head += "Connection: close\r\n";
      else if (spec.version === "1.0") head += "Connection: keep-alive\r\n";
      const parts: Buffer[] = [];
      if (spec.chunks) {
        head += "Transfer-Encoding: chunked\r\n\r\n";
        parts.push(Buffer.from(head, "latin1"));
        for (const c of spec.chunks) {
          const b = toBytes(c);
          if (b.length === 0) continue; // a zero-size chunk would end the body
          parts.push(Buffer.from(b.length.toString(16) + "\r\n", "latin1"), b, Buffer.from("\r\n"));
        }
        parts.push(Buffer.from("0\r\n\r\n"));
      } else if (spec.body !== undefined) {
        const b = toBytes(spec.body);
        head += `Content-Length: ${b.length}\r\n\r\n`;
        parts.push(Buffer.from(head, "latin1"), b);
      } else {
        parts.push(Buffer.from(head + "\r\n", "latin1"));
      }
      return Buffer.concat(parts);
    },
    async request(spec, opts) {
      const conn = await Connection.open(endpoint);
      try {
        await conn.write(ctx.encode(spec));
        return await conn.readResponse({ head: spec.method === "HEAD", timeoutMs: opts?.timeoutMs });
      } finally {
        conn.destroy();
      }
    },
    connect: () => Connection.open(endpoint),
    async environ(spec) {
      const res = await ctx.request(spec);
      if (res.status !== 200) throw new Error(`${spec.method ?? "GET"} ${spec.path}: expected 200 from the environ route, got ${res.status} ${res.body.toString("utf8").slice(0, 200)}`);
      return JSON.parse(res.body.toString("utf8")) as Record<string, unknown>;
    },
    id: () => randomBytes(8).toString("hex"),
  };
  return ctx;
}
