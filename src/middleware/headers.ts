/** Small helpers for the header lists of `Req` and `Res` (names compared case-insensitively). */
import type { Header } from "../spec.ts";

/** The first value of `name`, or undefined. */
export function getHeader(headers: readonly Header[], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [n, v] of headers) if (n.length === lower.length && n.toLowerCase() === lower) return v;
  return undefined;
}

/** Every value of `name`, in order. */
export function getHeaders(headers: readonly Header[], name: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (const [n, v] of headers) if (n.toLowerCase() === lower) out.push(v);
  return out;
}

/** A copy without any `name` entries. */
export function removeHeader(headers: readonly Header[], name: string): Header[] {
  const lower = name.toLowerCase();
  return headers.filter((h) => h[0].toLowerCase() !== lower);
}

/** A copy with `name` set to `value` (replacing every earlier entry). */
export function setHeader(headers: readonly Header[], name: string, value: string): Header[] {
  const out = removeHeader(headers, name);
  out.push([name, value]);
  return out;
}

/** A copy with `[name, value]` appended (keeps earlier entries: for Set-Cookie, Vary...). */
export function appendHeader(headers: readonly Header[], name: string, value: string): Header[] {
  return [...headers, [name, value]];
}
