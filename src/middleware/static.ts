/**
 * Serve files from a directory (Plack::Middleware::Static, Rack::Files, Hono's serveStatic).
 * GET and HEAD for paths that name a regular file under `root` are answered here; anything else
 * goes to the next layer. Safe against traversal: the decoded path is resolved and must stay
 * inside `root`; NUL bytes are refused; dotfiles are skipped unless allowed. Sends ETag and
 * Last-Modified and answers conditional requests (304) itself; single byte ranges get 206.
 */
import { open, realpath, stat } from "node:fs/promises";
import { extname, resolve, sep } from "node:path";
import { decodeUtf8 } from "../environ.ts";
import type { Header } from "../spec.ts";
import { isFresh } from "./conditional.ts";
import { getHeader } from "./headers.ts";
import type { Middleware, Res } from "./types.ts";

export interface StaticOptions {
  /** The directory to serve. */
  root: string;
  /** File served for a directory path. Default `index.html`; `false` for none. */
  index?: string | false;
  /** Serve names starting with `.`. Default false (they fall through, as if absent). */
  dotfiles?: boolean;
  /** `Cache-Control: max-age=N` in seconds. Default: no Cache-Control. */
  maxAge?: number;
  /** Answer `Range` requests. Default true. */
  ranges?: boolean;
}

/** Content types by extension; everything else is `application/octet-stream`. */
export const MIME_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8", ".json": "application/json",
  ".txt": "text/plain; charset=utf-8", ".md": "text/markdown; charset=utf-8", ".xml": "application/xml",
  ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
  ".webp": "image/webp", ".avif": "image/avif", ".ico": "image/x-icon", ".pdf": "application/pdf",
  ".wasm": "application/wasm", ".woff": "font/woff", ".woff2": "font/woff2", ".mp4": "video/mp4",
  ".webm": "video/webm", ".mp3": "audio/mpeg", ".zip": "application/zip", ".gz": "application/gzip",
};

const CHUNK = 64 * 1024;

/** Bytes `[start, end]` of a file, read in chunks; the file is closed however iteration ends. */
async function* fileRange(path: string, start: number, end: number): AsyncGenerator<Uint8Array> {
  const fh = await open(path, "r");
  try {
    let pos = start;
    while (pos <= end) {
      const buf = new Uint8Array(Math.min(CHUNK, end - pos + 1));
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return;
      pos += bytesRead;
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** Parse a single `bytes=a-b` range against `size`; null: ignore the header; "bad": 416. */
export function parseRange(header: string, size: number): [number, number] | null | "bad" {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (m === null) return null; // several ranges or another unit: send the whole file (RFC 9110 §14.2)
  const [, a, b] = m;
  if (a === "" && b === "") return null;
  let start: number;
  let end: number;
  if (a === "") {
    start = Math.max(0, size - Number(b));
    end = size - 1;
  } else {
    start = Number(a);
    end = b === "" ? size - 1 : Math.min(Number(b), size - 1);
  }
  if (start > end || start >= size) return "bad";
  return [start, end];
}

export function serveStatic(options: StaticOptions): Middleware {
  const root = resolve(options.root);
  const realRoot = realpath(root).catch(() => root);
  const index = options.index ?? "index.html";
  const ranges = options.ranges ?? true;
  return async (req, next) => {
    const method = req.env.REQUEST_METHOD;
    if (method !== "GET" && method !== "HEAD") return next(req);
    const path = decodeUtf8(req.env.PATH_INFO);
    if (path.includes("\0")) return { status: 400, headers: [["content-type", "text/plain; charset=utf-8"]], body: ["Bad Request\n"] };
    const segments = path.split("/");
    if (!options.dotfiles && segments.some((s) => s.startsWith(".") && s !== "")) return next(req);
    let file = resolve(root, "." + (path.startsWith("/") ? path : "/" + path));
    if (file !== root && !file.startsWith(root + sep)) return next(req); // `..` out of root
    let st;
    try {
      st = await stat(file);
      if (st.isDirectory()) {
        if (index === false) return next(req);
        file = resolve(file, index);
        st = await stat(file);
      }
      // A symlink inside root may point outside it: compare real paths.
      const real = await realpath(file);
      const base = await realRoot;
      if (!real.startsWith(base + sep)) return next(req);
    } catch {
      return next(req);
    }
    if (!st.isFile()) return next(req);

    const size = st.size;
    const etag = `W/"${size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const headers: Header[] = [
      ["content-type", MIME_TYPES[extname(file).toLowerCase()] ?? "application/octet-stream"],
      ["etag", etag],
      ["last-modified", st.mtime.toUTCString()],
    ];
    if (ranges) headers.push(["accept-ranges", "bytes"]);
    if (options.maxAge !== undefined) headers.push(["cache-control", `max-age=${options.maxAge}`]);
    if (isFresh(req.headers, headers)) {
      return { status: 304, headers: headers.filter((h) => h[0] !== "content-type" && h[0] !== "accept-ranges"), body: [] };
    }
    let start = 0;
    let end = size - 1;
    let status = 200;
    const range = ranges ? getHeader(req.headers, "range") : undefined;
    const ifRange = getHeader(req.headers, "if-range");
    if (range !== undefined && (ifRange === undefined || ifRange === etag || ifRange === st.mtime.toUTCString())) {
      const r = parseRange(range, size);
      if (r === "bad") {
        return { status: 416, headers: [["content-range", `bytes */${size}`], ["content-type", "text/plain; charset=utf-8"]], body: ["Range Not Satisfiable\n"] };
      }
      if (r !== null) {
        [start, end] = r;
        status = 206;
        headers.push(["content-range", `bytes ${start}-${end}/${size}`]);
      }
    }
    headers.push(["content-length", String(size === 0 ? 0 : end - start + 1)]);
    const res: Res = { status, headers, body: method === "HEAD" || size === 0 ? [] : fileRange(file, start, end) };
    return res;
  };
}
