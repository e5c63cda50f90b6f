/**
 * The CGI request as the process environment carries it (RFC 3875 §4.1, §7.2), turned into
 * the core's CgiParams: byte strings, one char per byte, as SPEC.md requires.
 *
 * Runtimes hand env values over as UTF-8-decoded JS strings. A valid UTF-8 path (Apache
 * percent-decodes PATH_INFO into raw bytes) is re-encoded losslessly; a value that was not
 * valid UTF-8 came through with U+FFFD in it, so its raw bytes are read from
 * /proc/self/environ (Linux), which holds the environment exactly as execve() passed it.
 */
import { readFileSync } from "node:fs";
import { bytesToByteString } from "../../src/environ.ts";
import type { CgiParams } from "../../src/request.ts";

const encoder = new TextEncoder();

/** Values of `env` with every char above 0x7F replaced by its UTF-8 bytes, one char each. */
export function paramsFromEnv(env: Record<string, string | undefined> = process.env): CgiParams {
  const params: CgiParams = {};
  let lossy: string[] | null = null;
  for (const key in env) {
    const value = env[key];
    if (value === undefined) continue;
    let ascii = true;
    for (let i = 0; i < value.length; i++) {
      if (value.charCodeAt(i) > 127) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      params[key] = value;
      continue;
    }
    params[key] = bytesToByteString(encoder.encode(value));
    if (value.includes("\uFFFD")) (lossy ??= []).push(key);
  }
  // Deno leaves variables that are not valid UTF-8 out of process.env altogether: add them too.
  const missing = env === process.env && typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
  if ((lossy !== null || missing) && env === process.env) restoreRawValues(params, lossy ?? [], missing);
  // httpoxy (CVE-2016-5385): HTTP_PROXY in a CGI environment is the client's `Proxy` header.
  delete params.HTTP_PROXY;
  // busybox httpd (1.35) always says SERVER_PORT=80, whatever port it listens on; the Host
  // header has the port the client used, which is what URL reconstruction needs.
  const software = params.SERVER_SOFTWARE;
  if (software !== undefined && software.startsWith("busybox httpd")) {
    const host = params.HTTP_HOST ?? "";
    const colon = host.lastIndexOf(":");
    if (colon > 0 && host.indexOf("]", colon) < 0 && /^\d+$/.test(host.slice(colon + 1))) params.SERVER_PORT = host.slice(colon + 1);
  }
  return params;
}

/**
 * Replace the named params with their raw bytes from /proc/self/environ, where it exists;
 * with `addMissing`, also add variables the runtime did not list.
 */
function restoreRawValues(params: CgiParams, keys: string[], addMissing = false): void {
  let raw: Buffer;
  try {
    raw = readFileSync("/proc/self/environ");
  } catch {
    return; // not Linux: the UTF-8 round trip above is the best there is
  }
  const wanted = new Set(keys);
  let start = 0;
  for (let i = 0; i <= raw.length; i++) {
    if (i < raw.length && raw[i] !== 0) continue;
    const entry = raw.subarray(start, i);
    start = i + 1;
    const eq = entry.indexOf(61); // "="
    if (eq <= 0) continue;
    const key = bytesToByteString(entry.subarray(0, eq));
    if (wanted.has(key) || (addMissing && !(key in params))) params[key] = bytesToByteString(entry.subarray(eq + 1));
  }
}

/**
 * Remove the client-controlled HTTP_PROXY from the process environment, so that no HTTP
 * client library in the app (Deno's and Bun's fetch, undici with env proxies, child
 * processes such as curl) takes it for a proxy setting. Only in a CGI context, where the
 * name can only have come from a request header.
 */
export function dropHttpProxy(env: Record<string, string | undefined> = process.env): void {
  if (env.GATEWAY_INTERFACE !== undefined || env.REQUEST_METHOD !== undefined) delete env.HTTP_PROXY;
}

/**
 * True when the script must answer as a non-parsed-header script (RFC 3875 §5): servers
 * (Apache, and the convention everywhere) select NPH by a file name starting with `nph-`.
 */
export function isNphScript(params: CgiParams): boolean {
  const path = params.SCRIPT_FILENAME || params.SCRIPT_NAME || "";
  const slash = path.lastIndexOf("/");
  return path.startsWith("nph-", slash + 1);
}
