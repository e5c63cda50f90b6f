/**
 * src/params-copy.ts makes a constructor for the params' names once their order repeats; its
 * copies must be what a key-by-key copy gives, in order, and it must step aside for what the
 * environ decides on (empty CONTENT_*, HTTPS, HTTP_PROXY, HTTP_CONTENT_*, `__proto__`).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, test } from "node:test";
import { environFromParams } from "../../src/environ.ts";
import { ParamsCopier } from "../../src/params-copy.ts";

type Params = Record<string, string>;

/** Repeat `params` until the copier has made its constructor; returns the copy it then gives. */
function hotCopy(c: ParamsCopier, params: Params, rounds = 8): Params | null {
  let got: Params | null = null;
  for (let i = 0; i < rounds; i++) got = c.copy(params);
  return got;
}

describe("ParamsCopier (src/params-copy.ts)", () => {
  test("after `hot` copies in the same order, copies come from a made constructor: equal entries, in order, plain objects, new each time", () => {
    const c = new ParamsCopier(4, 0);
    const p: Params = { QUERY_STRING: "a=1", REQUEST_METHOD: "GET", CONTENT_TYPE: "text/plain", CONTENT_LENGTH: "5", REQUEST_URI: "/x?a=1", "0": "zero", "we\"ird\\\u2028name": "v", constructor: "c", HTTP_HOST: "h" };
    for (let i = 0; i < 3; i++) assert.equal(c.copy(p), null, "not yet hot");
    assert.equal(c.compiled, false);
    const first = c.copy(p);
    assert.equal(first, null, "the 4th copy makes the constructor; the caller still copies this one");
    assert.equal(c.compiled, true);
    const a = c.copy(p)!, b = c.copy({ ...p, REQUEST_URI: "/other" })!;
    assert.notEqual(a, null);
    assert.deepEqual(Object.entries(a), Object.entries(p));
    assert.equal(Object.getPrototypeOf(a), Object.prototype);
    assert.equal(b.REQUEST_URI, "/other");
    assert.notEqual(a, b);
    a.X = "1";
    assert.equal(p.X, undefined, "the copy is its own object");
  });

  test("another order, a missing or an extra name: no copy, and the old constructor is dropped", () => {
    const c = new ParamsCopier(2, 0);
    const p: Params = { A: "1", B: "2", C: "3" };
    assert.notEqual(hotCopy(c, p), null);
    assert.equal(c.copy({ B: "2", A: "1", C: "3" }), null);
    assert.equal(c.compiled, false);
    assert.notEqual(hotCopy(c, p), null);
    assert.equal(c.copy({ A: "1", B: "2" }), null);
    assert.notEqual(hotCopy(c, p), null);
    assert.equal(c.copy({ A: "1", B: "2", C: "3", D: "4" }), null);
    assert.notEqual(hotCopy(c, p), null);
  });

  test("empty CONTENT_TYPE or CONTENT_LENGTH: no copy for that request, the next full one is copied again", () => {
    const c = new ParamsCopier(2, 0);
    const p: Params = { REQUEST_METHOD: "POST", CONTENT_TYPE: "a/b", CONTENT_LENGTH: "3" };
    assert.notEqual(hotCopy(c, p), null);
    assert.equal(c.copy({ ...p, CONTENT_TYPE: "" }), null);
    assert.equal(c.copy({ ...p, CONTENT_LENGTH: "" }), null);
    assert.deepEqual(c.copy(p), p);
  });

  test("names the environ decides on, __proto__, and too many or too long names: never a constructor", () => {
    for (const name of ["HTTPS", "HTTP_PROXY", "HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"]) {
      const c = new ParamsCopier(2, 0);
      assert.equal(hotCopy(c, { A: "1", [name]: "x" }, 20), null, name);
      assert.equal(c.compiled, false, name);
    }
    const proto = JSON.parse('{"A": "1", "__proto__": "x"}') as Params;
    const c = new ParamsCopier(2, 0);
    assert.equal(hotCopy(c, proto, 20), null);
    const many: Params = {};
    for (let i = 0; i < 129; i++) many["N" + i] = "v";
    assert.equal(hotCopy(new ParamsCopier(2, 0), many, 20), null);
    assert.equal(hotCopy(new ParamsCopier(2, 0), { ["L".repeat(4097)]: "v" }, 20), null);
    assert.notEqual(hotCopy(new ParamsCopier(2, 0), { ["L".repeat(4000)]: "v" }, 20), null);
  });

  test("orders that keep changing make at most one constructor per `compileEvery` copies", () => {
    const c = new ParamsCopier(2, 100);
    let made = 0;
    for (let i = 0; i < 1000; i++) {
      const p: Params = i % 6 < 3 ? { A: "1", B: "2" } : { B: "2", A: "1" };
      const was = c.compiled;
      c.copy(p);
      if (!was && c.compiled) made++;
    }
    // Alone, each run of 3 would make one (hot = 2): 333 runs. Bounded: one per 100 copies.
    assert.ok(made >= 5 && made <= 10, `made ${made}`);
  });

  test("where making functions from source is disallowed, copies stay key by key (null) and nothing throws", { skip: typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" || typeof (globalThis as { Deno?: unknown }).Deno !== "undefined" }, () => {
    const module = new URL(`../../src/params-copy${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url).href;
    const script = `import(${JSON.stringify(module)}).then(({ ParamsCopier }) => {
      const c = new ParamsCopier(2, 0); let got;
      for (let i = 0; i < 10; i++) got = c.copy({ A: "1", B: "2" });
      console.log(JSON.stringify([got, c.compiled]));
    });`;
    const out = execFileSync(process.execPath, ["--disallow-code-generation-from-strings", "--input-type=module", "-e", script], { encoding: "utf8" });
    assert.equal(out.trim(), "[null,false]");
    // The same script without the flag makes the constructor: the flag is what made the difference.
    const allowed = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    assert.equal(allowed.trim(), '[{"A":"1","B":"2"},true]');
  });

  test("the environ of a hot layout equals the one made key by key", () => {
    const p: Params = { QUERY_STRING: "", REQUEST_METHOD: "GET", REQUEST_URI: "/a/b?", PATH_INFO: "/a/b", SERVER_PROTOCOL: "HTTP/1.1", REMOTE_ADDR: "127.0.0.1", REMOTE_PORT: "4000", SERVER_PORT: "80", SERVER_NAME: "", HTTP_HOST: "example.com:8080" };
    const cold = environFromParams({ Z: "1", ...p });
    delete cold.Z;
    let hot = cold;
    for (let i = 0; i < 40; i++) hot = environFromParams({ ...p });
    assert.deepEqual(Object.entries(hot), Object.entries(cold));
    assert.equal(hot.SERVER_NAME, "example.com");
  });
});
