/** Telling the three app kinds apart with no wrapper from the user (SPEC.md §"App kinds"). */
import type { App, AppKind, AsyncApp, FetchObject, SyncApp } from "./spec.ts";

const AsyncFunction = (async () => {}).constructor;

/**
 * The kind of `app`, decided in this order:
 * 1. an object with a `fetch` method (a Hono app, a Bun/Deno-style default export): fetch;
 * 2. a function with a `tsgi` property of "sync", "async" or "fetch": that kind;
 * 3. an `async function` with 3 parameters: async; with 1 or 2: fetch
 *    (a sync app cannot be `async`, as it must return its iterable synchronously);
 * 4. a plain function with 2 parameters: sync; 3: async; 1: fetch.
 * Anything else (0 parameters, rest parameters, 4+) is ambiguous: the server refuses it and
 * asks for a `tsgi` marker rather than guess.
 */
export function appKind(app: unknown): AppKind {
  if (app !== null && typeof app === "object" && typeof (app as FetchObject).fetch === "function") {
    return "fetch";
  }
  if (typeof app !== "function") {
    throw new TypeError(`not a tsgi app: expected a function or an object with a fetch() method, got ${app === null ? "null" : typeof app}`);
  }
  const marker = (app as { tsgi?: unknown }).tsgi;
  if (marker === "sync" || marker === "async" || marker === "fetch") return marker;
  const n = app.length;
  if (app instanceof AsyncFunction) {
    if (n === 3) return "async";
    if (n === 1 || n === 2) return "fetch";
  } else {
    if (n === 2) return "sync";
    if (n === 3) return "async";
    if (n === 1) return "fetch";
  }
  throw new TypeError(
    `cannot tell what kind of app ${app.name || "(anonymous)"} is from its ${n} declared parameters: ` +
      `declare (environ, startResponse), (scope, receive, send) or (request), ` +
      `or mark it with syncApp(), asyncApp() or fetchApp() from "tsgi"`,
  );
}

/** Mark a function as a sync app (for wrappers whose parameter count says nothing). */
export function syncApp<T extends (...args: never[]) => unknown>(fn: T): T & { tsgi: "sync" } {
  return Object.assign(fn, { tsgi: "sync" as const });
}
/** Mark a function as an async app. */
export function asyncApp<T extends (...args: never[]) => unknown>(fn: T): T & { tsgi: "async" } {
  return Object.assign(fn, { tsgi: "async" as const });
}
/** Mark a function as a fetch handler. */
export function fetchApp<T extends (...args: never[]) => unknown>(fn: T): T & { tsgi: "fetch" } {
  return Object.assign(fn, { tsgi: "fetch" as const });
}

/** Narrowing helpers for code that already knows the kind. */
export function isSyncApp(app: App): app is SyncApp {
  return appKind(app) === "sync";
}
export function isAsyncApp(app: App): app is AsyncApp {
  return appKind(app) === "async";
}
