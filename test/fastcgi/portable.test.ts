/**
 * listener.test.ts and bad-input.test.ts again with `portable: true`: on Node the listener then
 * serves every connection through a net.Socket, the path Bun and Deno always take (by default
 * Node serves it on the raw accepted handle, adapters/node/native.ts). Each test file runs in a
 * process of its own, so the switch stays here.
 */
process.env.TSGI_FASTCGI_TEST_PORTABLE = "1";
await import("./listener.test.ts");
await import("./bad-input.test.ts");
