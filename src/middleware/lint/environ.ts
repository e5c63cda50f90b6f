/**
 * lint's checks of what the server gives an app: the sync environ (SPEC.md §4.2-4.5) and the
 * async `http` scope (§5.2). Each failure is a SpecError naming the rule (§15).
 */
import { isToken, SpecError } from "../../headers.ts";
import type { HttpScope } from "../../spec.ts";

const REQUIRED = ["REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REQUEST_URI", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL"];
const TSGI = ["tsgi.version", "tsgi.url_scheme", "tsgi.input", "tsgi.errors", "tsgi.multithread", "tsgi.multiprocess", "tsgi.run_once"];

function isByteString(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 255) return false;
  return true;
}

function fail(rule: string, message: string): never {
  throw new SpecError(rule, `server: ${message}`);
}

/** `SCRIPT_NAME` / `root_path`: `""`, or starting with `/` and not ending with `/`. */
function checkMountPoint(value: string, what: string): void {
  if (value !== "" && (!value.startsWith("/") || value.endsWith("/"))) {
    fail("script-name", `${what} ${JSON.stringify(value)} must be "" or start with "/" and not end with "/"`);
  }
}

export function checkEnviron(environ: Record<string, unknown>): void {
  if (environ === null || typeof environ !== "object") fail("environ-keys", "environ is not an object");
  for (const key of REQUIRED) {
    if (typeof environ[key] !== "string") fail("environ-keys", `environ.${key} must be a string, got ${typeof environ[key]}`);
  }
  for (const key of TSGI) if (!(key in environ)) fail("environ-keys", `environ lacks ${key}`);
  for (const key in environ) {
    if (key.includes(".")) continue;
    const v = environ[key];
    if (typeof v !== "string") fail("byte-string", `CGI key ${key} must be a string, got ${typeof v}`);
    if (!isByteString(v)) fail("byte-string", `CGI key ${key} has a character above U+00FF; wire values are byte strings`);
    if (key.startsWith("HTTP_") && !/^HTTP_[A-Z0-9_]+$/.test(key)) {
      fail("header-underscore", `${key} is not a normalised header key (A-Z, 0-9, _)`);
    }
  }
  const e = environ as Record<string, string>;
  if (!isToken(e.REQUEST_METHOD)) fail("environ-keys", `REQUEST_METHOD ${JSON.stringify(e.REQUEST_METHOD)} is not a token`);
  if (!/^HTTP\/\d(\.\d)?$/.test(e.SERVER_PROTOCOL)) fail("environ-keys", `SERVER_PROTOCOL ${JSON.stringify(e.SERVER_PROTOCOL)} is not HTTP/n or HTTP/n.n`);
  checkMountPoint(e.SCRIPT_NAME, "SCRIPT_NAME");
  const info = e.PATH_INFO;
  if (info !== "" && !info.startsWith("/") && info !== "*") fail("path-info", `PATH_INFO ${JSON.stringify(info)} must be "" or start with "/"`);
  if (e.SCRIPT_NAME === "" && info === "") fail("root-mount", `SCRIPT_NAME and PATH_INFO are both ""; a request for the root has PATH_INFO "/"`);
  if (e.SERVER_NAME === "") fail("server-name", "SERVER_NAME is empty");
  if (!/^\d+$/.test(e.SERVER_PORT)) fail("server-name", `SERVER_PORT ${JSON.stringify(e.SERVER_PORT)} is not decimal digits`);
  for (const k of ["CONTENT_TYPE", "CONTENT_LENGTH"]) {
    if (e[k] === "") fail("content-empty", `${k} is ""; leave it out when the request has none`);
    if (("HTTP_" + k) in environ) fail("content-dup", `HTTP_${k} is present; the header belongs in ${k} only`);
  }
  if (e.CONTENT_LENGTH !== undefined && !/^\d{1,15}$/.test(e.CONTENT_LENGTH)) {
    fail("request-content-length", `CONTENT_LENGTH ${JSON.stringify(e.CONTENT_LENGTH)} is not 1-15 digits`);
  }
  if ("HTTP_PROXY" in environ) fail("httpoxy", "HTTP_PROXY is present; a Proxy request header must never reach environ");

  const version = environ["tsgi.version"];
  if (!Array.isArray(version) || version.length !== 2 || version[0] !== 1 || version[1] !== 0) fail("tsgi-keys", "tsgi.version must be [1, 0]");
  const scheme = environ["tsgi.url_scheme"];
  if (scheme !== "http" && scheme !== "https") fail("tsgi-keys", `tsgi.url_scheme must be "http" or "https", got ${JSON.stringify(scheme)}`);
  if ((scheme === "https") !== (e.HTTPS === "on")) fail("url-scheme", `tsgi.url_scheme is ${scheme} but HTTPS is ${JSON.stringify(e.HTTPS)}`);
  const input = environ["tsgi.input"] as Record<string, unknown> | null;
  if (input === null || typeof input !== "object" || typeof input.read !== "function" || typeof input.readLine !== "function"
    || typeof input.seek !== "function" || typeof input.length !== "number") {
    fail("tsgi-keys", "tsgi.input must have read(), readLine(), seek() and length");
  }
  const errors = environ["tsgi.errors"] as Record<string, unknown> | null;
  if (errors === null || typeof errors !== "object" || typeof errors.write !== "function") fail("tsgi-keys", "tsgi.errors must have write()");
  for (const k of ["tsgi.multithread", "tsgi.multiprocess", "tsgi.run_once"]) {
    if (typeof environ[k] !== "boolean") fail("tsgi-keys", `${k} must be a boolean`);
  }
  const length = Number(e.CONTENT_LENGTH ?? 0);
  if (input.length !== length) fail("input-whole", `tsgi.input.length is ${input.length} but CONTENT_LENGTH says ${length}`);
}

/** The `http` scope's fields (SPEC.md §5.2). */
export function checkScope(scope: HttpScope): void {
  const s = scope as unknown as Record<string, unknown>;
  for (const k of ["http_version", "method", "scheme", "path", "raw_path", "query_string", "root_path"]) {
    if (typeof s[k] !== "string") fail("scope-keys", `scope.${k} must be a string, got ${typeof s[k]}`);
  }
  const t = s.tsgi as Record<string, unknown> | undefined;
  if (t === undefined || typeof t.version !== "string") fail("scope-keys", "scope.tsgi.version must be a string");
  if (!["1.0", "1.1", "2"].includes(scope.http_version)) fail("scope-keys", `http_version ${JSON.stringify(scope.http_version)} is not "1.0", "1.1" or "2"`);
  if (!isToken(scope.method)) fail("scope-keys", `method ${JSON.stringify(scope.method)} is not a token`);
  if (scope.scheme !== "http" && scope.scheme !== "https") fail("scope-keys", `scheme must be "http" or "https"`);
  checkMountPoint(scope.root_path, "root_path");
  if (!scope.path.startsWith(scope.root_path)) fail("mount", `path ${JSON.stringify(scope.path)} does not start with root_path ${JSON.stringify(scope.root_path)}`);
  if (!isByteString(scope.raw_path) || !isByteString(scope.query_string)) fail("byte-string", "raw_path and query_string are byte strings");
  if (!Array.isArray(scope.headers)) fail("scope-keys", "scope.headers must be an array");
  for (const h of scope.headers) {
    if (!Array.isArray(h) || h.length !== 2 || typeof h[0] !== "string" || typeof h[1] !== "string") fail("scope-keys", `scope header ${JSON.stringify(h)} is not a [name, value] pair of strings`);
    if (!isByteString(h[1])) fail("byte-string", `scope header ${h[0]} has a character above U+00FF`);
  }
  if (scope.client !== null && (!Array.isArray(scope.client) || typeof scope.client[0] !== "string" || typeof scope.client[1] !== "number")) {
    fail("scope-keys", "scope.client must be [host, port] or null");
  }
  if (scope.state !== undefined && (scope.state === null || typeof scope.state !== "object")) fail("lifespan-state", "scope.state must be an object");
  if (scope.extensions === null || typeof scope.extensions !== "object") fail("scope-keys", "scope.extensions must be an object");
}
