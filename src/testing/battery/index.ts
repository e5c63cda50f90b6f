/**
 * The tsgi conformance battery: a reference app plus black-box cases sent over a real socket,
 * reusable by every adapter and by anyone else's server (Plack::Test::Suite and PEP 3333 are the
 * models). The battery knows nothing about the server: it only needs where it listens.
 *
 * Use it from a node:test file:
 *
 * ```ts
 * import { describe, before, after } from "node:test";
 * import { runBattery } from "tsgi/testing";
 * describe("my server", () => {
 *   // start your server serving `referenceApp` (file: src/testing/battery/app.ts, default export)
 *   runBattery({
 *     baseUrl: "http://127.0.0.1:8080",           // or () => url, resolved when the cases run
 *     mount: "/app",                               // the SCRIPT_NAME the app is mounted at, "" by default
 *     capabilities: { keepAlive: "CGI: one process per request" }, // a string turns a feature off, with the reason
 *     skip: { "path-encoded-slash": "Apache refuses %2F" },          // per-case skips, with the reason
 *     only: ["environ-get"],                       // run just these (debugging)
 *   });
 * });
 * ```
 *
 * Each case becomes one node:test subtest named `id: description`. `referenceApp` is the sync app
 * the cases expect (serve it as a file: `tsgi serve src/testing/battery/app.ts`); `cases` holds
 * the case list for other test runners (`makeContext` + `case.run(ctx)`).
 *
 * The reference app records close() calls in memory, or in $TSGI_BATTERY_STATE (a folder) when
 * set: transports that start a process per request (CGI) set it so that a later request sees them.
 */
import { test } from "node:test";
import { bodyCases } from "./cases-body.ts";
import { connectionCases } from "./cases-connection.ts";
import { environCases } from "./cases-environ.ts";
import { errorCases } from "./cases-errors.ts";
import { requestCases } from "./cases-request.ts";
import { responseCases } from "./cases-response.ts";
import type { BatteryCase } from "./case.ts";
import { makeContext, parseBaseUrl, type BatteryContext, type Capabilities, type Capability } from "./context.ts";

export { referenceApp, pattern, UNICODE_TEXT, LITERALS } from "./app.ts";
export { Connection, header, headerAll, type Endpoint, type RawResponse } from "./client.ts";
export { makeContext, parseBaseUrl, type BatteryContext, type Capabilities, type Capability, type RequestSpec } from "./context.ts";
export type { BatteryCase } from "./case.ts";

/** Every case, in a stable order. Ids are unique and stable across versions. */
export const cases: readonly BatteryCase[] = [
  ...environCases,
  ...requestCases,
  ...bodyCases,
  ...responseCases,
  ...errorCases,
  ...connectionCases,
];

export interface BatteryOptions {
  /** `http://HOST:PORT` or `unix:/path/to.sock`: where the server listens; a function is called when cases run. */
  baseUrl: string | (() => string);
  /** The mount point (SCRIPT_NAME) the reference app is served under; "" (default) for the root. */
  mount?: string;
  /** Transport features that are off, each with the reason (see `Capabilities`). */
  capabilities?: Partial<Record<Capability, string | true>>;
  /** Case id → reason: these cases are reported as skipped. */
  skip?: Record<string, string>;
  /** Run only these case ids. */
  only?: string[];
  /** Per-case timeout in ms; default 60 000. */
  timeoutMs?: number;
}

const ALL_ON: Capabilities = {
  keepAlive: true, pipelining: true, continue100: true, chunkedRequest: true, streaming: true, sharedState: true,
  disconnect: true, authorization: true, encodedSlash: true, contentLength: true, http10: true,
};

/** Why a case will not run under `options`, or null when it runs. */
export function skipReason(c: BatteryCase, options: Pick<BatteryOptions, "capabilities" | "skip" | "only">): string | null {
  if (options.only && !options.only.includes(c.id)) return "not in `only`";
  const s = options.skip?.[c.id];
  if (s !== undefined) return s;
  for (const need of c.needs ?? []) {
    const cap = options.capabilities?.[need];
    if (typeof cap === "string") return `needs ${need}: ${cap}`;
  }
  return null;
}

/** Register one node:test subtest per case (call it inside `describe`). */
export function runBattery(options: BatteryOptions): void {
  for (const key of Object.keys(options.skip ?? {})) {
    if (!cases.some((c) => c.id === key)) throw new Error(`runBattery: skip names an unknown case ${JSON.stringify(key)}`);
  }
  const capabilities = { ...ALL_ON, ...options.capabilities } as Capabilities;
  let ctx: BatteryContext | null = null;
  const context = (): BatteryContext => {
    if (ctx) return ctx;
    const base = typeof options.baseUrl === "function" ? options.baseUrl() : options.baseUrl;
    return (ctx = makeContext(parseBaseUrl(base), normalizeMount(options.mount ?? ""), capabilities));
  };
  for (const c of cases) {
    const reason = skipReason(c, options);
    if (reason === "not in `only`") continue;
    test(`${c.id}: ${c.description}`, { skip: reason ?? false, timeout: options.timeoutMs ?? 60_000 }, () => c.run(context()));
  }
}

function normalizeMount(m: string): string {
  if (m === "" || m === "/") return "";
  return ("/" + m).replace(/^\/+/, "/").replace(/\/+$/, "");
}
