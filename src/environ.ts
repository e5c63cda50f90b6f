/**
 * Request description → CGI meta-variables. This is the one place where peers' quirks are
 * normalised (SPEC.md §"Environ"), so every adapter gives apps the same view.
 */
import { ParamsCopier } from "./params-copy.ts";
import type { CgiParams, HttpHead } from "./request.ts";

/** The CGI part of environ, before the server adds `tsgi.*` keys. */
export type CgiEnviron = Record<string, string>;

export interface EnvironOptions {
  /**
   * The mount point (SCRIPT_NAME) the app is served under, without a trailing slash; `""` is
   * the root. For gateway protocols, giving a mount makes the core derive SCRIPT_NAME and
   * PATH_INFO from REQUEST_URI instead of trusting the front server's split (nginx's
   * `uwsgi_params` sends no SCRIPT_NAME, and its `fastcgi_params` sends the whole path as one).
   */
  mount?: string;
}

/** Decode `%XX` escapes into a byte string; malformed escapes stay as they are (like nginx). */
export function percentDecode(s: string): string {
  let i = s.indexOf("%");
  if (i < 0) return s;
  let out = s.slice(0, i);
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 37 && i + 2 < s.length && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      out += String.fromCharCode(parseInt(s.substr(i + 1, 2), 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

const utf8 = new TextDecoder("utf-8");
/** Interpret a byte string as UTF-8 text (invalid sequences become U+FFFD). */
export function decodeUtf8(bytes: string): string {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) if (bytes.charCodeAt(i) > 127) { ascii = false; break; }
  if (ascii) return bytes;
  return utf8.decode(byteStringToBytes(bytes));
}

/** A byte string as bytes; chars above U+00FF are truncated to their low byte. */
export function byteStringToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Bytes `b[start, end)` as a byte string (one char per byte). */
export function bytesToByteString(b: Uint8Array, start = 0, end = b.length): string {
  // Short values (ports, methods, "HTTP/1.1") are most of a params block: String.fromCharCode
  // with the bytes as arguments takes ~13 ns, the native latin1 slice ~50 (Node 20).
  switch (end - start) {
    case 1: return String.fromCharCode(b[start]);
    case 2: return String.fromCharCode(b[start], b[start + 1]);
    case 3: return String.fromCharCode(b[start], b[start + 1], b[start + 2]);
    case 4: return String.fromCharCode(b[start], b[start + 1], b[start + 2], b[start + 3]);
    case 5: return String.fromCharCode(b[start], b[start + 1], b[start + 2], b[start + 3], b[start + 4]);
    case 6: return String.fromCharCode(b[start], b[start + 1], b[start + 2], b[start + 3], b[start + 4], b[start + 5]);
    case 7: return String.fromCharCode(b[start], b[start + 1], b[start + 2], b[start + 3], b[start + 4], b[start + 5], b[start + 6]);
    case 8: return String.fromCharCode(b[start], b[start + 1], b[start + 2], b[start + 3], b[start + 4], b[start + 5], b[start + 6], b[start + 7]);
  }
  if (end <= start) return "";
  // Buffer's latin1 slice (Node, Bun, Deno's node:buffer) is one native call. Not
  // TextDecoder("latin1"): that is windows-1252, which remaps bytes 0x80-0x9f.
  const buf = b as Uint8Array & { latin1Slice?: (start: number, end: number) => string };
  if (typeof buf.latin1Slice === "function") return buf.latin1Slice(start, end);
  let s = "";
  for (let i = start; i < end; i += 8192) {
    s += String.fromCharCode.apply(null, b.subarray(i, Math.min(end, i + 8192)) as unknown as number[]);
  }
  return s;
}

/**
 * Header name → environ key. `null` for names the spec drops: names with `_` (else `X_User`
 * could pose as `X-User`), `Proxy` (httpoxy: HTTP_PROXY would be read as a proxy setting), and
 * Content-Type/Length, which have their own keys. Cached because names repeat on every request;
 * the cache is bounded so that a client sending random names cannot grow it without limit.
 */
const keyCache = new Map<string, string | null>();
function headerKey(name: string): string | null {
  let key = keyCache.get(name);
  if (key !== undefined) return key;
  const lower = name.toLowerCase();
  if (lower === "content-type") key = "CONTENT_TYPE";
  else if (lower === "content-length") key = "CONTENT_LENGTH";
  else if (lower === "proxy" || !isEnvName(name)) key = null;
  else key = "HTTP_" + lower.toUpperCase().replaceAll("-", "_");
  if (keyCache.size < 512) keyCache.set(name, key);
  return key;
}

/**
 * Only letters, digits and `-` make an environ name (Apache 2.4 refuses the rest too): `_`
 * would let `X_User` pose as `X-User`, and `.` would make a key that reads like a server
 * extension (`HTTP_X.Y`).
 */
function isEnvName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45)) return false;
  }
  return true;
}

// A client sends the same header names in the same order on every request, and node's parser
// makes each name a fresh string: comparing it with the name last seen at its position is
// cheaper than hashing it for the cache above (a Map lookup per header, ~0.4% of a hello request).
const SLOTS = 32;
const slotNames: string[] = new Array(SLOTS).fill("");
const slotKeys: (string | null)[] = new Array(SLOTS).fill(null);

/**
 * Add request headers (flat `[name, value, ...]`) to CGI keys: `HTTP_*` with repeats joined by
 * `, `, `Cookie` joined by `; ` (cookies cannot be comma-joined, RFC 6265 §5.4), Content-Type
 * and Content-Length under their own keys, empty ones dropped; names that cannot be an environ
 * name, and `Proxy` (httpoxy), dropped. No header can set a key without the `HTTP_` prefix.
 */
export function addHeaders(env: CgiEnviron, raw: readonly string[]): void {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const slot = i >> 1;
    let key: string | null;
    if (slot < SLOTS && name === slotNames[slot]) key = slotKeys[slot];
    else {
      key = headerKey(name);
      if (slot < SLOTS) {
        slotNames[slot] = name;
        slotKeys[slot] = key;
      }
    }
    if (key === null) continue;
    const value = raw[i + 1];
    const prev = env[key];
    if (prev === undefined) env[key] = value;
    else if (key === "HTTP_COOKIE") env[key] = prev + "; " + value;
    else if (key === "CONTENT_LENGTH" || key === "CONTENT_TYPE") env[key] = value; // framing layer already rejected conflicts
    else env[key] = prev + ", " + value;
  }
  if (env.CONTENT_LENGTH === "") delete env.CONTENT_LENGTH;
  if (env.CONTENT_TYPE === "") delete env.CONTENT_TYPE;
}

/** Split `mount` off a decoded path. Returns null when the path is not under the mount. */
function splitMount(path: string, mount: string): [string, string] | null {
  if (mount === "") return ["", path];
  if (!path.startsWith(mount)) return null;
  if (path.length === mount.length) return [mount, ""];
  if (path.charCodeAt(mount.length) !== 47) return null;
  return [mount, path.slice(mount.length)];
}

/** Normalise a user-supplied mount: leading slash, no trailing slash, `/` means root. */
export function normalizeMount(mount: string | undefined): string {
  if (!mount || mount === "/") return "";
  let m = mount.startsWith("/") ? mount : "/" + mount;
  while (m.endsWith("/")) m = m.slice(0, -1);
  return m;
}

/** Build the CGI keys from an HTTP request line and headers. */
export function environFromHttp(head: HttpHead, options: EnvironOptions = {}): CgiEnviron {
  const target = head.target;
  let q = target.indexOf("?");
  let rawPath = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? "" : target.slice(q + 1);
  // absolute-form (RFC 9112 §3.2.2): a proxy-style target; keep only the path.
  if (rawPath.charCodeAt(0) !== 47 && rawPath !== "*") {
    const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/]*/.exec(rawPath);
    if (m) rawPath = rawPath.slice(m[0].length) || "/";
  }
  const path = percentDecode(rawPath);
  const mount = options.mount ?? "";
  let script = "", info = path;
  if (mount !== "") {
    const split = splitMount(path, mount);
    if (split !== null) [script, info] = split;
  }

  const env = new HttpEnviron(head, script, info, query);

  addHeaders(env, head.rawHeaders);
  const host = env.HTTP_HOST;
  if (host !== undefined && host !== "") {
    // SERVER_NAME/PORT from Host, as gunicorn and Plack do, so URL reconstruction is right behind a proxy.
    // A port that is not 1-5 digits (`Host: x:abc`, `Host: x:`) is ignored: the scheme's default.
    // Clients send the same Host on every request: the last split is kept rather than sliced again.
    if (host !== lastHost || head.scheme !== lastHostScheme) {
      const colon = host.lastIndexOf(":");
      const portText = colon > 0 && host.indexOf("]", colon) < 0 ? host.slice(colon + 1) : null;
      lastHostName = portText === null ? host : host.slice(0, colon);
      lastHostPort = portText !== null && isPort(portText) ? portText : head.scheme === "https" ? "443" : "80";
      lastHost = host;
      lastHostScheme = head.scheme;
    }
    env.SERVER_NAME = lastHostName;
    env.SERVER_PORT = lastHostPort;
  }
  return env;
}

/**
 * An HTTP request's first CGI keys, made with `new` rather than as an object literal: V8 gives
 * objects made by a constructor spare in-object room (slack tracking; 18 slots in all here, seen
 * with %DebugPrint on Node 20), so the HTTP_* and tsgi.* keys added afterwards mostly land in it instead
 * of in a separate property store that is reallocated as it grows (a literal has room for its
 * own keys only). ~230 B less allocation per request. The prototype is Object.prototype: apps see
 * a plain object.
 */
const HttpEnviron = function (this: CgiEnviron, head: HttpHead, script: string, info: string, query: string) {
  this.REQUEST_METHOD = head.method;
  this.SCRIPT_NAME = script;
  this.PATH_INFO = info;
  this.QUERY_STRING = query;
  this.REQUEST_URI = head.target;
  this.SERVER_NAME = head.serverName;
  this.SERVER_PORT = head.serverPort;
  this.SERVER_PROTOCOL = protocol(head.httpVersion);
  if (head.remoteAddr !== undefined) this.REMOTE_ADDR = head.remoteAddr;
  if (head.remotePort !== undefined) this.REMOTE_PORT = head.remotePort;
  if (head.scheme === "https") this.HTTPS = "on";
} as unknown as new (head: HttpHead, script: string, info: string, query: string) => CgiEnviron;
(HttpEnviron as unknown as { prototype: object }).prototype = Object.prototype;

let lastHost = "", lastHostScheme = "", lastHostName = "", lastHostPort = "";

function isPort(text: string): boolean {
  if (text.length === 0 || text.length > 5) return false;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
    n = n * 10 + (c - 48);
  }
  return n <= 65535;
}

/** SERVER_PROTOCOL for node's `httpVersion`; the usual ones without building a string. */
function protocol(version: string): string {
  return version === "1.1" ? "HTTP/1.1" : version === "2" ? "HTTP/2" : "HTTP/" + version;
}

const PROXY_PREFIX = /^proxy:[a-z]+:\/\/[^/]*/;

const copier = new ParamsCopier();

/**
 * `content-empty`: nginx sends `CONTENT_TYPE ""` and `CONTENT_LENGTH ""` with every body-less
 * request, and an empty one means none (RFC 3875 4.1.2-3), so it is left out.
 */
export function isEmptyContent(name: string, value: string): boolean {
  return value === "" && (name === "CONTENT_TYPE" || name === "CONTENT_LENGTH");
}

/**
 * The params that stay in the environ as they are, as a new object. Usually that is all of
 * them, and a constructor made for their names copies them (src/params-copy.ts). Otherwise, one
 * pass copies what stays and sets aside what needs a decision; deleting keys from a copy
 * afterwards would turn it into a slow dictionary (and this runs per request). Both keep the
 * params' order.
 */
function keptParams(params: CgiParams): CgiEnviron {
  const copied = copier.copy(params);
  if (copied !== null) return copied;
  const env: CgiEnviron = {};
  let httpCt: string | undefined, httpCl: string | undefined, https: string | undefined;
  for (const k in params) {
    const v = params[k];
    const c = k.charCodeAt(0);
    if (c === 72 /* H */) {
      if (k === "HTTPS") { https = v; continue; }
      // httpoxy (CVE-2016-5385): a `Proxy:` request header must never look like a proxy setting.
      if (k === "HTTP_PROXY") continue;
      // nginx and lighttpd also forward the Content-* headers as HTTP_CONTENT_*: keep one, canonical, copy.
      if (k === "HTTP_CONTENT_TYPE") { httpCt = v; continue; }
      if (k === "HTTP_CONTENT_LENGTH") { httpCl = v; continue; }
    } else if (c === 67 /* C */ && isEmptyContent(k, v)) continue;
    env[k] = v;
  }
  if (httpCt && env.CONTENT_TYPE === undefined) env.CONTENT_TYPE = httpCt;
  if (httpCl && env.CONTENT_LENGTH === undefined) env.CONTENT_LENGTH = httpCl;
  if (https !== undefined && /^(on|1)$/i.test(https)) env.HTTPS = "on";
  return env;
}

/**
 * Normalise CGI meta-variables from a gateway protocol (CGI env, FastCGI PARAMS, uwsgi vars).
 * Returns a new object; `params` is not modified.
 */
export function environFromParams(params: CgiParams, options: EnvironOptions = {}): CgiEnviron {
  const env = keptParams(params);
  env.REQUEST_METHOD ||= "GET";
  env.QUERY_STRING ??= "";
  // nginx sends `SERVER_NAME $server_name`, which is "" when the server block has no
  // server_name (the usual catch-all): fall back to the Host header's name, as HTTP does.
  // uWSGI's router with --http-server-name-as-http-host sends the whole Host, port included.
  env.SERVER_NAME = hostName(env.SERVER_NAME) || hostName(env.HTTP_HOST) || "localhost";
  env.SERVER_PORT ||= "80";
  const proto = env.SERVER_PROTOCOL;
  if (!proto || proto === "INCLUDED") env.SERVER_PROTOCOL = "HTTP/1.0";
  // Apache's mod_proxy_fcgi/uwsgi leave `proxy:fcgi://host:port` in front of the file path.
  const file = env.SCRIPT_FILENAME;
  if (file !== undefined && file.startsWith("proxy:")) env.SCRIPT_FILENAME = file.replace(PROXY_PREFIX, "");
  const translated = env.PATH_TRANSLATED;
  if (translated !== undefined && translated.startsWith("proxy:")) env.PATH_TRANSLATED = translated.replace(PROXY_PREFIX, "");
  if (env.REQUEST_SCHEME === "https") env.HTTPS = "on";

  const uri = env.REQUEST_URI;
  if (options.mount !== undefined) {
    // The front server's split is not to be trusted: derive it from the raw URI.
    const raw = uri !== undefined ? uri.split("?", 1)[0] : undefined;
    const path = raw !== undefined ? percentDecode(raw) : (env.SCRIPT_NAME ?? "") + (env.PATH_INFO ?? "");
    const split = splitMount(path, options.mount) ?? ["", path];
    env.SCRIPT_NAME = split[0];
    env.PATH_INFO = split[1];
  } else {
    let script = env.SCRIPT_NAME ?? "";
    let info = env.PATH_INFO ?? "";
    if (script.endsWith("/")) {
      // SCRIPT_NAME "/" (lighttpd at the root, some Apache setups): the slash belongs to PATH_INFO.
      script = script.slice(0, -1);
      info = "/" + info.replace(/^\//, "");
    }
    if (script === "" && info === "") info = "/";
    env.SCRIPT_NAME = script;
    env.PATH_INFO = info;
  }
  if (uri === undefined) {
    env.REQUEST_URI = (env.SCRIPT_NAME + env.PATH_INFO) + (env.QUERY_STRING ? "?" + env.QUERY_STRING : "");
  }
  return env;
}

/** The name part of a Host header value (`example.com:8080` → `example.com`, `[::1]:80` → `[::1]`). */
function hostName(host: string | undefined): string {
  if (!host) return "";
  // The same Host as last time (the params decoder hands out the very same string): its name.
  if (host === lastNamedHost) return lastHostOnlyName;
  const name = hostNameOf(host);
  lastNamedHost = host;
  lastHostOnlyName = name;
  return name;
}
let lastNamedHost = "", lastHostOnlyName = "";

function hostNameOf(host: string): string {
  const colon = host.lastIndexOf(":");
  if (colon <= 0) return host;
  const name = host.slice(0, colon);
  // A bare IPv6 address (`::1`) has colons but no port; a bracketed one (`[::1]:80`) has both.
  if (name.includes(":") && !name.endsWith("]")) return host;
  return name;
}

/** Reconstruct `[lower-case name, value]` request headers from `HTTP_*` keys (for scopes). */
export function headersFromEnviron(env: CgiEnviron): [string, string][] {
  const out: [string, string][] = [];
  for (const key in env) {
    if (key.startsWith("HTTP_")) out.push([key.slice(5).toLowerCase().replaceAll("_", "-"), env[key]]);
  }
  if (env.CONTENT_TYPE !== undefined) out.push(["content-type", env.CONTENT_TYPE]);
  if (env.CONTENT_LENGTH !== undefined) out.push(["content-length", env.CONTENT_LENGTH]);
  return out;
}
