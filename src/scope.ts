/**
 * The two views of one HTTP request: CGI keys (sync apps, byte strings) and the `http` scope
 * (async apps). The Gateway builds a scope from CGI keys; bridges and middleware also go back.
 */
import { addHeaders, bytesToByteString, decodeUtf8, type CgiEnviron } from "./environ.ts";
import { TSGI_VERSION, type Environ, type ErrorStream, type Header, type HttpScope, type InputStream } from "./spec.ts";

const TSGI_SCOPE = { version: "1.0", spec_version: "1.0" } as const;
const encoder = new TextEncoder();

/** The async app's `http` scope for CGI keys and request headers (lower-case names). */
export function scopeFromEnviron(env: CgiEnviron, headers: Header[], state?: Record<string, unknown>): HttpScope {
  const uri = env.REQUEST_URI;
  const q = uri === undefined ? -1 : uri.indexOf("?");
  const proto = env.SERVER_PROTOCOL;
  return {
    type: "http",
    tsgi: { ...TSGI_SCOPE },
    http_version: proto !== undefined && proto.startsWith("HTTP/") ? proto.slice(5) : "1.0",
    method: env.REQUEST_METHOD,
    scheme: env.HTTPS === "on" ? "https" : "http",
    path: decodeUtf8(env.SCRIPT_NAME + env.PATH_INFO),
    raw_path: uri === undefined || uri.charCodeAt(0) !== 47 ? env.SCRIPT_NAME + env.PATH_INFO : q < 0 ? uri : uri.slice(0, q),
    query_string: env.QUERY_STRING ?? "",
    root_path: decodeUtf8(env.SCRIPT_NAME),
    headers,
    client: env.REMOTE_ADDR ? [env.REMOTE_ADDR, Number(env.REMOTE_PORT ?? 0)] : null,
    server: [env.SERVER_NAME, env.SERVER_PORT ? Number(env.SERVER_PORT) : null],
    state: state ? { ...state } : undefined,
    extensions: { environ: env },
  };
}

/** Text as a byte string of its UTF-8 bytes (how environ carries paths). */
export function utf8ByteString(text: string): string {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 127) return bytesToByteString(encoder.encode(text));
  }
  return text;
}

/**
 * CGI keys for a scope, as a sync app behind a bridge sees them. The scope is the truth; the
 * CGI view the server left in `extensions.environ` is used only for what the scope lacks
 * (REQUEST_URI, the exact path bytes) and only while the scope's path still agrees with it,
 * since middleware may have rewritten `path`/`root_path`. `withHeaders: false` leaves out the
 * `HTTP_*`/`CONTENT_*` keys.
 */
export function environFromScope(scope: HttpScope, withHeaders = true): CgiEnviron {
  const base = scope.extensions?.environ as CgiEnviron | undefined;
  const root = scope.root_path ?? "";
  let script: string;
  let info: string;
  const agrees = base !== undefined && typeof base.SCRIPT_NAME === "string" && typeof base.PATH_INFO === "string"
    && decodeUtf8(base.SCRIPT_NAME) === root && decodeUtf8(base.SCRIPT_NAME + base.PATH_INFO) === scope.path;
  if (agrees) {
    script = base!.SCRIPT_NAME;
    info = base!.PATH_INFO;
  } else {
    script = utf8ByteString(root);
    info = utf8ByteString(scope.path.startsWith(root) ? scope.path.slice(root.length) : scope.path);
  }
  if (script === "/") script = "";
  if (script === "" && info === "") info = "/";
  const query = scope.query_string ?? "";
  const env: CgiEnviron = {};
  if (base !== undefined) {
    // Gateway variables the scope has no field for (REMOTE_USER, DOCUMENT_ROOT, SSL_*...) carry
    // over; header keys do not, since the scope's header list is the truth.
    for (const k in base) {
      if (!k.startsWith("HTTP_") && k !== "CONTENT_TYPE" && k !== "CONTENT_LENGTH" && k !== "HTTPS" && typeof base[k] === "string") env[k] = base[k];
    }
  }
  Object.assign(env, {
    REQUEST_METHOD: scope.method,
    SCRIPT_NAME: script,
    PATH_INFO: info,
    QUERY_STRING: query,
    REQUEST_URI: agrees && base.REQUEST_URI !== undefined && base.QUERY_STRING === query
      ? base.REQUEST_URI
      : (scope.raw_path ?? script + info) + (query ? "?" + query : ""),
    SERVER_NAME: scope.server?.[0] ?? "localhost",
    SERVER_PORT: String(scope.server?.[1] ?? (scope.scheme === "https" ? 443 : 80)),
    SERVER_PROTOCOL: scope.http_version === "2" ? "HTTP/2" : "HTTP/" + (scope.http_version ?? "1.1"),
  });
  if (scope.client) {
    env.REMOTE_ADDR = scope.client[0];
    env.REMOTE_PORT = String(scope.client[1]);
  }
  if (scope.scheme === "https") env.HTTPS = "on";
  if (!withHeaders) return env;
  const flat: string[] = [];
  for (const [name, value] of scope.headers) flat.push(name, value);
  addHeaders(env, flat);
  return env;
}

/** The `tsgi.*` values of an environ other than the version. */
export interface TsgiValues {
  input: InputStream;
  errors: ErrorStream;
  multithread: boolean;
  multiprocess: boolean;
  runOnce: boolean;
}

/**
 * A sync app's environ: CGI keys plus the `tsgi.*` keys, as a new object. The `tsgi.*` keys are
 * laid out first and the CGI keys copied after: adding seven dotted keys to an existing copy
 * pushed V8 into slow (dictionary) objects and cost several microseconds per request.
 */
export function makeEnviron(cgi: CgiEnviron, v: TsgiValues): Environ {
  const e: Record<string, unknown> = {
    "tsgi.version": TSGI_VERSION,
    "tsgi.url_scheme": cgi.HTTPS === "on" ? "https" : "http",
    "tsgi.input": v.input,
    "tsgi.errors": v.errors,
    "tsgi.multithread": v.multithread,
    "tsgi.multiprocess": v.multiprocess,
    "tsgi.run_once": v.runOnce,
  };
  for (const k in cgi) e[k] = cgi[k];
  return e as Environ;
}
