/**
 * What every CGI server test runs: the conformance battery through the real server (the
 * reference app as a `#!/usr/bin/env cgi-run` script in cgi-bin), then the CGI-specific
 * checks that only a real server can answer (httpoxy from a real `Proxy` header, chunked
 * bodies, NPH, redirects, the error log).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runBattery, type BatteryOptions } from "../../src/testing/index.ts";
import { Connection, header, type RawResponse } from "../../src/testing/battery/client.ts";
import type { Front } from "../support/peers.ts";
import { stopAll } from "../support/process.ts";
import { BATTERY_APP, FIXTURES, makeStage, type Stage } from "./stage.ts";
import { serverPeer, startServer, type ServerKind } from "./servers.ts";

export interface SuiteOptions {
  capabilities?: BatteryOptions["capabilities"];
  skip?: Record<string, string>;
  /** The server turns a chunked request into a de-chunked body for the script. */
  chunked: boolean;
  /** The server performs CGI local redirects (RFC 3875 §6.2.2). */
  localRedirect: boolean;
  /** The server passes an `nph-` script's output unparsed. */
  nph: boolean;
}

/**
 * Cases that need a cut-short body to look cut short. A CGI script cannot say so: whatever
 * it does, the server sees end of file on its stdout and ends the response normally (the
 * failure goes to the error log, and the script exits non-zero).
 */
export const CGI_TRUNCATION: Record<string, string> = {
  "error-throw-after-first-chunk": "CGI cannot mark a body as cut short: the server ends the response normally at the script's exit",
  "error-content-length-short": "CGI cannot mark a body as cut short: the server re-frames the response and ends it at the script's exit",
  "close-after-error": "asserts that the failed body looks cut short, which CGI cannot express",
};

/** Every CGI process start costs tens of ms; cases get more time than in-process servers. */
const CASE_TIMEOUT = 120_000;

export function cgiServerSuite(kind: ServerKind, opts: SuiteOptions): void {
  const { bin, skip } = serverPeer(kind);
  describe(`CGI through ${kind}`, { skip }, () => {
    let stage: Stage;
    let server: Front;
    before(async () => {
      stage = makeStage();
      stage.app("battery.ts", BATTERY_APP);
      stage.app("checks.ts", join(FIXTURES, "checks.ts"));
      stage.app("nph-checks.ts", join(FIXTURES, "checks.ts"));
      stage.app("throws.ts", join(FIXTURES, "broken.ts"));
      server = await startServer(kind, bin, stage, { TSGI_BATTERY_STATE: stage.state });
      // The first request of each script fills the cache (esbuild); later ones start warm.
      for (const s of ["battery.ts/x", "checks.ts/env", "nph-checks.ts/env", "throws.ts/x"]) {
        const r = await get(server, `/cgi-bin/${s}`);
        if (s !== "throws.ts/x") assert.equal(r.status, 200, `warm-up of ${s}: ${r.status} ${r.body.toString().slice(0, 300)}\n${server.errorLog().slice(-2000)}`);
      }
    });
    after(async () => {
      await stopAll();
      stage?.remove();
    });

    describe("battery", () => {
      runBattery({
        baseUrl: () => server.baseUrl,
        mount: "/cgi-bin/battery.ts",
        timeoutMs: CASE_TIMEOUT,
        capabilities: opts.capabilities,
        skip: opts.skip,
        // TSGI_BATTERY_ONLY=id,id runs just those cases (debugging).
        only: process.env.TSGI_BATTERY_ONLY ? process.env.TSGI_BATTERY_ONLY.split(",") : undefined,
      });
    });

    describe("CGI specifics", () => {
      test("httpoxy: a Proxy request header reaches neither environ nor process.env", async () => {
        const r = await get(server, "/cgi-bin/checks.ts/env", [["Proxy", "http://attacker.example:8080"]]);
        const j = JSON.parse(r.body.toString("utf8"));
        assert.equal(j.environProxy, null);
        assert.equal(j.processProxy, null);
        assert.equal(j.run_once, true);
      });

      test("request headers and the path come through the server's CGI environment", async () => {
        const r = await get(server, "/cgi-bin/checks.ts/env/a%20b?q=1", [["X-Probe", "yes"]]);
        const j = JSON.parse(r.body.toString("utf8"));
        assert.equal(j.SCRIPT_NAME, "/cgi-bin/checks.ts");
        assert.equal(j.PATH_INFO, "/env/a b");
        assert.equal(j.QUERY_STRING, "q=1");
        assert.equal(j.HTTP_X_PROBE, "yes");
      });

      test("a chunked request body reaches the app whole", { skip: opts.chunked ? false : `${kind} does not pass chunked request bodies to CGI scripts` }, async () => {
        const body = Buffer.alloc(100_000, "x");
        const r = await request(server, "POST", "/cgi-bin/checks.ts/env", [["Transfer-Encoding", "chunked"]], [body.subarray(0, 40_000), body.subarray(40_000)]);
        assert.equal(r.status, 200, r.body.toString());
        const j = JSON.parse(r.body.toString("utf8"));
        assert.equal(j.bodyLength, body.length);
        assert.equal(j.bodySha256, createHash("sha256").update(body).digest("hex"));
      });

      test("200 + Location: /path makes the server serve that path (local redirect)", { skip: opts.localRedirect ? false : `${kind} does not do CGI local redirects` }, async () => {
        const r = await get(server, "/cgi-bin/checks.ts/local");
        assert.equal(r.status, 200);
        assert.equal(JSON.parse(r.body.toString("utf8")).QUERY_STRING, "from-local");
      });

      test("a client redirect keeps the app's 302, Location and body", async () => {
        const r = await get(server, "/cgi-bin/checks.ts/client");
        assert.equal(r.status, 302);
        assert.equal(header(r, "location"), "http://example.com/elsewhere");
        assert.equal(r.body.toString(), "moved\n");
      });

      test("an nph- script's status line and headers reach the client", { skip: opts.nph ? false : `${kind} has no NPH mode` }, async () => {
        const r = await get(server, "/cgi-bin/nph-checks.ts/env");
        assert.equal(r.status, 200);
        assert.equal(header(r, "connection")?.toLowerCase(), "close");
        assert.equal(JSON.parse(r.body.toString("utf8")).PATH_INFO, "/env");
      });

      test("an app that throws: 500, and the stack goes to the server's error log, not the client", async () => {
        const r = await get(server, "/cgi-bin/throws.ts/x");
        assert.equal(r.status, 500);
        assert.doesNotMatch(r.body.toString(), /thrown on purpose|\bat /);
        if (kind !== "busybox") {
          // busybox httpd leaves a script's stderr on its own stderr, which the test captures too.
          await waitFor(() => /broken: thrown on purpose/.test(server.errorLog()), 3000);
        }
        assert.match(server.errorLog(), /broken: thrown on purpose/);
      });
    });
  });
}

async function get(server: Front, path: string, headers: [string, string][] = []): Promise<RawResponse> {
  return request(server, "GET", path, headers);
}

async function request(server: Front, method: string, path: string, headers: [string, string][], chunks?: Buffer[]): Promise<RawResponse> {
  const conn = await Connection.open({ host: "127.0.0.1", port: server.port });
  try {
    let head = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n`;
    for (const [n, v] of headers) head += `${n}: ${v}\r\n`;
    const parts = [Buffer.from(head + "\r\n", "latin1")];
    for (const c of chunks ?? []) parts.push(Buffer.from(c.length.toString(16) + "\r\n"), Buffer.from(c), Buffer.from("\r\n"));
    if (chunks) parts.push(Buffer.from("0\r\n\r\n"));
    await conn.write(Buffer.concat(parts));
    return await conn.readResponse({ head: method === "HEAD", timeoutMs: 60_000 });
  } finally {
    conn.destroy();
  }
}

async function waitFor(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}
