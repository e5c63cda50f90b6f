/** A small HTTP client for runtime tests: TCP or unix-socket URLs, whole or streamed bodies. */
import { request as httpRequest, type IncomingMessage } from "node:http";

export interface Reply {
  status: number;
  headers: IncomingMessage["headers"];
  rawHeaders: string[];
  body: Buffer;
}

/** `http://host:port/...` or `http://unix:/path/to.sock` + a path → node:http options. */
export function where(base: string, path: string): { host?: string; port?: number; socketPath?: string; path: string } {
  if (base.startsWith("http://unix:")) return { socketPath: base.slice("http://unix:".length), path };
  const u = new URL(base);
  return { host: u.hostname, port: Number(u.port), path };
}

/** Send one request; resolves with the full reply. */
export function fetchRaw(base: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest({ ...where(base, path), method: init.method ?? "GET", headers: init.headers, agent: false }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    // A server may answer before the whole body is sent (413) and close: once the answer is
    // here, a failed write of the rest is not the request's result (RFC 9112 §9.3).
    req.on("error", (err) => {
      if (!answered) reject(err);
    });
    req.end(init.body);
  });
}

/** Send a request without a body and hand back the live response (for streaming and disconnect tests). */
export function open(base: string, path: string, init: { method?: string; headers?: Record<string, string> } = {}) {
  const req = httpRequest({ ...where(base, path), method: init.method ?? "GET", headers: init.headers, agent: false });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.on("response", resolve);
    req.on("error", reject);
  });
  req.end();
  return { req, response };
}

/**
 * GET a streamed body: its first chunk, how long after the response head that chunk came (a
 * stream held back until the end comes late), and the whole body.
 */
export async function streamed(base: string, path: string): Promise<{ res: IncomingMessage; first: string; firstMs: number; body: string }> {
  const res = await open(base, path).response;
  const t0 = Date.now();
  let first: string | undefined;
  let firstMs = 0;
  let body = "";
  for await (const chunk of res) {
    if (first === undefined) {
      first = String(chunk);
      firstMs = Date.now() - t0;
    }
    body += chunk;
  }
  return { res, first: first ?? "", firstMs, body };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
