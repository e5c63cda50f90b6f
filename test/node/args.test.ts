/** `tsgi serve` argument parsing: defaults, repeatable listeners, bare --fastcgi, sizes. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseServeArgs, parseSize, UsageError, type ServeArgs } from "../../src/cli/args.ts";

const parse = (argv: string[]) => parseServeArgs(argv) as ServeArgs;

test("no listener flag: HTTP on 127.0.0.1:8000", () => {
  assert.deepEqual(parse(["app.ts"]).http, [{ host: "127.0.0.1", port: 8000 }]);
});

test("listeners repeat and mix; :PORT means 127.0.0.1", () => {
  const a = parse(["app.ts", "--http", ":8001", "--http", "/run/a.sock", "--uwsgi", "0.0.0.0:3031", "--fastcgi", "unix:/run/f.sock"]);
  assert.deepEqual(a.http, [{ host: "127.0.0.1", port: 8001 }, { path: "/run/a.sock" }]);
  assert.deepEqual(a.uwsgi, [{ host: "0.0.0.0", port: 3031 }]);
  assert.deepEqual(a.fastcgi, [{ path: "/run/f.sock" }]);
});

test("a bare --fastcgi means the listening socket on fd 0, wherever it stands", () => {
  assert.deepEqual(parse(["app.ts", "--fastcgi"]).fastcgi, [{ fd: 0 }]);
  assert.deepEqual(parse(["--fastcgi", "app.ts"]).fastcgi, [{ fd: 0 }]);
  assert.deepEqual(parse(["--fastcgi", "--mount", "/x", "app.ts"]).fastcgi, [{ fd: 0 }]);
  assert.deepEqual(parse(["app.ts", "--fastcgi", "127.0.0.1:9000"]).fastcgi, [{ host: "127.0.0.1", port: 9000 }]);
  assert.equal(parse(["app.ts", "--fastcgi"]).http.length, 0, "no default HTTP listener when another is given");
});

test("sizes and seconds", () => {
  assert.equal(parseSize("1048576"), 1048576);
  assert.equal(parseSize("512k"), 512 * 1024);
  assert.equal(parseSize("10m"), 10 * 1024 ** 2);
  assert.equal(parseSize("1G"), 1024 ** 3);
  assert.equal(parseSize("10MiB"), 10 * 1024 ** 2);
  assert.throws(() => parseSize("-1"), UsageError);
  const a = parse(["app.ts", "--timeout", "2.5", "--graceful-timeout", "0", "--max-body", "1k"]);
  assert.equal(a.timeout, 2.5);
  assert.equal(a.gracefulTimeout, 0);
  assert.equal(a.maxBody, 1024);
  assert.throws(() => parse(["app.ts", "--timeout", "soon"]), /--timeout "soon"/);
});

test("--mount must be a path; --socket-mode is octal", () => {
  assert.equal(parse(["app.ts", "--mount", "/app"]).mount, "/app");
  assert.throws(() => parse(["app.ts", "--mount", "app"]), /starts with \//);
  assert.equal(parse(["app.ts", "--socket-mode", "660"]).socketMode, 0o660);
  assert.throws(() => parse(["app.ts", "--socket-mode", "999"]), UsageError);
});

test("--help and --version win over everything else", () => {
  assert.equal(parseServeArgs(["--help"]), "help");
  assert.equal(parseServeArgs(["app.ts", "-v"]), "version");
});
