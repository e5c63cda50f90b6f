/** Response status and header rules shared by every server (SPEC.md §"Responses"). */
import type { Header } from "./spec.ts";

/** Reason phrases from RFC 9110 §15, for servers that get an integer status (async, fetch). */
export const REASONS: Readonly<Record<number, string>> = {
  100: "Continue", 101: "Switching Protocols", 102: "Processing", 103: "Early Hints",
  200: "OK", 201: "Created", 202: "Accepted", 203: "Non-Authoritative Information",
  204: "No Content", 205: "Reset Content", 206: "Partial Content", 207: "Multi-Status",
  300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 303: "See Other",
  304: "Not Modified", 305: "Use Proxy", 307: "Temporary Redirect", 308: "Permanent Redirect",
  400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden",
  404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
  407: "Proxy Authentication Required", 408: "Request Timeout", 409: "Conflict", 410: "Gone",
  411: "Length Required", 412: "Precondition Failed", 413: "Content Too Large",
  414: "URI Too Long", 415: "Unsupported Media Type", 416: "Range Not Satisfiable",
  417: "Expectation Failed", 418: "I'm a Teapot", 421: "Misdirected Request",
  422: "Unprocessable Content", 423: "Locked", 424: "Failed Dependency", 425: "Too Early",
  426: "Upgrade Required", 428: "Precondition Required", 429: "Too Many Requests",
  431: "Request Header Fields Too Large", 451: "Unavailable For Legal Reasons",
  500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
  503: "Service Unavailable", 504: "Gateway Timeout", 505: "HTTP Version Not Supported",
  507: "Insufficient Storage", 508: "Loop Detected", 511: "Network Authentication Required",
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? (status < 200 ? "Informational" : status < 300 ? "Success"
    : status < 400 ? "Redirection" : status < 500 ? "Client Error" : "Server Error");
}

/**
 * Connection-level headers an app must not send (RFC 9110 §7.6.1); the server owns framing.
 * Lower-case, checked against lower-cased names.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
  "te", "trailer", "transfer-encoding", "upgrade",
]);

/** Lengths of the hop-by-hop names and of "status": a fast pre-check before lower-casing. */
const FORBIDDEN_LENGTHS = new Uint8Array(32);
for (const n of [...HOP_BY_HOP, "status"]) FORBIDDEN_LENGTHS[n.length] = 1;

/** Thrown for a response that breaks a SPEC.md rule; `rule` names it for logs and lint. */
export class SpecError extends Error {
  constructor(readonly rule: string, message: string) {
    super(`${rule}: ${message}`);
    this.name = "SpecError";
  }
}

// Apps pass the same few status strings ("200 OK") on every request: the last one parsed is kept.
let lastStatus = "";
let lastParsed: readonly [code: number, reason: string] = [0, ""];

/** Parse `"NNN Reason"`; the reason may be empty text but the space is required. */
export function parseStatus(status: unknown): readonly [code: number, reason: string] {
  if (status === lastStatus) return lastParsed;
  if (typeof status !== "string") {
    throw new SpecError("status-type", `status must be a string like "200 OK", got ${typeof status}`);
  }
  const c0 = status.charCodeAt(0) - 48, c1 = status.charCodeAt(1) - 48, c2 = status.charCodeAt(2) - 48;
  if (!(c0 >= 1 && c0 <= 5 && c1 >= 0 && c1 <= 9 && c2 >= 0 && c2 <= 9) || status.charCodeAt(3) !== 32) {
    throw new SpecError("status-format", `status must be "NNN Reason" with a 3-digit code 100-599, got ${JSON.stringify(status)}`);
  }
  const reason = status.slice(4);
  if (hasCtl(reason)) throw new SpecError("status-format", `status reason contains a control character: ${JSON.stringify(status)}`);
  lastParsed = [c0 * 100 + c1 * 10 + c2, reason];
  lastStatus = status;
  return lastParsed;
}

/** `status-final`: a response ends with a final status; 1xx are interim (SPEC §9.1). */
export function checkFinalStatus(code: number): void {
  if (code < 200) {
    throw new SpecError("status-final", `status ${code} is an interim (1xx) status and cannot be the response's status; tsgi 1.0 has no interim responses or upgrades`);
  }
}

/** RFC 9110 token characters, for header names. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TCHAR[c.charCodeAt(0)] = 1;
}

export function isToken(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 127 || TCHAR[c] === 0) return false;
  }
  return true;
}

/** CR, LF, NUL or another control char (except HTAB), or a char above one byte. */
function hasCtl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127 || c > 255) return true;
  }
  return false;
}

/**
 * Check the app's headers; throws SpecError naming the rule. Hop-by-hop headers are refused,
 * not stripped: an app that sets `Transfer-Encoding` believes it controls framing, and
 * silently dropping it would hide the bug.
 */
export function validateHeaders(headers: unknown): asserts headers is Header[] {
  if (headers === lastHeaders && unchanged(headers as Header[])) return;
  if (!Array.isArray(headers)) {
    throw new SpecError("headers-type", "headers must be an array of [name, value] pairs");
  }
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i];
    if (!Array.isArray(h) || h.length !== 2 || typeof h[0] !== "string" || typeof h[1] !== "string") {
      throw new SpecError("header-pair", `header #${i} must be a [name, value] pair of strings, got ${JSON.stringify(h)}`);
    }
    const name = h[0];
    if (!isToken(name)) {
      throw new SpecError("header-name", `header name ${JSON.stringify(name)} is not an RFC 9110 token (no spaces, colons, CR, LF or NUL)`);
    }
    if (hasCtl(h[1])) {
      throw new SpecError("header-value", `header ${name} has a control character (CR, LF, NUL) or a char above U+00FF in its value`);
    }
    // Only names as long as a forbidden one need lower-casing (most app headers are not).
    if (FORBIDDEN_LENGTHS[name.length] !== 1) continue;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      throw new SpecError("hop-by-hop", `header ${name} is hop-by-hop; the server owns connection framing`);
    }
    if (lower === "status") {
      throw new SpecError("status-header", "a Status header is not allowed; pass the status to startResponse");
    }
  }
  remember(headers);
}

// Apps usually pass one constant headers list on every request. The last list that passed is
// remembered with its pairs and strings as they were, so the same list, unchanged, is not scanned
// again; any change (a pair replaced, a string replaced, the length) validates it afresh.
let lastHeaders: unknown = null;
let lastSeen: unknown[] = [];

function unchanged(headers: Header[]): boolean {
  const seen = lastSeen;
  if (headers.length * 3 !== seen.length) return false;
  for (let i = 0, j = 0; i < headers.length; i++, j += 3) {
    const h = headers[i];
    if (h !== seen[j] || h.length !== 2 || h[0] !== seen[j + 1] || h[1] !== seen[j + 2]) return false;
  }
  return true;
}

function remember(headers: Header[]): void {
  const seen: unknown[] = new Array(headers.length * 3);
  for (let i = 0, j = 0; i < headers.length; i++, j += 3) {
    seen[j] = headers[i];
    seen[j + 1] = headers[i][0];
    seen[j + 2] = headers[i][1];
  }
  lastSeen = seen;
  lastHeaders = headers;
}

/** Statuses whose responses have no body by definition (RFC 9110 §6.4.1). */
export function statusHasNoBody(status: number): boolean {
  return status < 200 || status === 204 || status === 304;
}

// An app answers most requests with the same status and headers: the last head is kept with
// what it was made of (its strings, compared by value), so building it again is a comparison.
let headPrefix = "", headStatus = 0, headReason = "", headFields: string[] = [], lastHead = "";

/**
 * A response head as text: `prefix` + status + " " + reason (`"HTTP/1.1 "` for a raw HTTP
 * response, `"Status: "` for a CGI-style one), the header lines, and the empty line. Header
 * names and values are the validated byte strings (no CR, LF or NUL).
 */
export function responseHead(prefix: string, status: number, reason: string, headers: Header[]): string {
  if (status === headStatus && prefix === headPrefix && reason === headReason && headers.length * 2 === headFields.length) {
    let i = 0;
    while (i < headers.length && headers[i][0] === headFields[2 * i] && headers[i][1] === headFields[2 * i + 1]) i++;
    if (i === headers.length) return lastHead;
  }
  let head = prefix + status + " " + reason + "\r\n";
  const fields: string[] = new Array(headers.length * 2);
  for (let i = 0; i < headers.length; i++) {
    const name = headers[i][0], value = headers[i][1];
    head += name + ": " + value + "\r\n";
    fields[2 * i] = name;
    fields[2 * i + 1] = value;
  }
  headPrefix = prefix;
  headStatus = status;
  headReason = reason;
  headFields = fields;
  lastHead = head + "\r\n";
  return lastHead;
}
