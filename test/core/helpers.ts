/** Shared helpers for the core tests: run an app through the real Gateway, check the logged rule. */
import assert from "node:assert/strict";
import { TestClient, type TestClientOptions, type TestRequestInit, type TestResponse } from "../../src/testing/index.ts";
import type { App, Environ, StartResponse } from "../../src/index.ts";

export async function run(app: App, path = "/", init: TestRequestInit = {}, options: TestClientOptions = {}): Promise<{ r: TestResponse; logs: string[]; client: TestClient }> {
  const client = new TestClient(app, options);
  const r = await client.request(path, init);
  return { r, logs: client.logs, client };
}

/** The app breaks `rule`: a 500 (or an aborted response) and one log line naming the rule. */
export async function expectRule(app: App, rule: string, init: TestRequestInit = {}, path = "/"): Promise<TestResponse> {
  const { r, logs } = await run(app, path, init);
  assert.ok(r.status === 500 || r.aborted, `expected a 500 or an abort for ${rule}, got ${r.status}`);
  assert.equal(logs.length, 1, `one log line for ${rule}: ${JSON.stringify(logs)}`);
  assert.match(logs[0], new RegExp(`${rule}: `), `log names ${rule}: ${logs[0]}`);
  return r;
}

/** The app keeps the rule: no log line and the expected status. */
export async function expectOk(app: App, status = 200, init: TestRequestInit = {}, path = "/"): Promise<TestResponse> {
  const { r, logs } = await run(app, path, init);
  assert.deepEqual(logs, []);
  assert.equal(r.status, status);
  assert.equal(r.aborted, false);
  return r;
}

/** A sync app answering with `status`, `headers` and `body`. */
export function syncReply(status: unknown, headers: unknown, body: unknown = ["ok"]) {
  return (_e: Environ, start: StartResponse) => {
    start(status as string, headers as [string, string][]);
    return body as string[];
  };
}

/** A sync app that shows its environ's CGI keys as JSON. */
export function envEcho(env: Environ, start: StartResponse) {
  const out: Record<string, unknown> = {};
  for (const k in env) if (!k.includes(".")) out[k] = env[k];
  out.body = new TextDecoder().decode(env["tsgi.input"].read());
  start("200 OK", [["Content-Type", "application/json"]]);
  return [JSON.stringify(out)];
}

export const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));
