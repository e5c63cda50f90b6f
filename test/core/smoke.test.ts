import { test } from "node:test";
import assert from "node:assert/strict";
import { environFromHttp } from "../../src/index.ts";

test("root GET gives empty SCRIPT_NAME and / PATH_INFO", () => {
  const env = environFromHttp({ method: "GET", target: "/", rawHeaders: ["Host", "x:1"], httpVersion: "1.1", scheme: "http", serverName: "127.0.0.1", serverPort: "1" });
  assert.equal(env.SCRIPT_NAME, "");
  assert.equal(env.PATH_INFO, "/");
});
