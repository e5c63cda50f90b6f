/** The shape of a battery case, and small assertion helpers the cases share. */
import assert from "node:assert/strict";
import { header, type RawResponse } from "./client.ts";
import type { BatteryContext, Capability } from "./context.ts";

export interface BatteryCase {
  /** Stable id (`group-name`), used by `skip` and `only`. */
  id: string;
  /** What is checked, in one line. */
  description: string;
  /** Transport features the case relies on. */
  needs?: Capability[];
  run(ctx: BatteryContext): Promise<void>;
}

/** Assert a status and, optionally, a body; the failure message shows what came back. */
export function expectStatus(res: RawResponse, status: number, body?: string | Buffer): void {
  const show = () => `got ${res.status} ${res.reason} ${JSON.stringify(res.body.toString("latin1").slice(0, 300))}`;
  assert.equal(res.status, status, `expected status ${status}, ${show()}`);
  if (body !== undefined) {
    const want = typeof body === "string" ? Buffer.from(body, "utf8") : body;
    assert.ok(res.body.equals(want), `expected body ${JSON.stringify(want.toString("latin1").slice(0, 200))} (${want.length} bytes), ${show()} (${res.body.length} bytes)`);
  }
}

/** The response carried no body-framing headers (204/304 rules of RFC 9110 §6.4.1 / RFC 9112 §6.3). */
export function expectNoBodyFraming(res: RawResponse): void {
  assert.equal(header(res, "transfer-encoding"), undefined, "no Transfer-Encoding on a body-less status");
  assert.equal(res.body.length, 0, "no body bytes");
}

export { assert };
