/**
 * listener.test.ts and bad-input.test.ts again on unix sockets, where Node serves each
 * connection on the raw accepted handle (adapters/node/native.ts) until something needs a
 * net.Socket; on TCP (the files' default) every connection is a net.Socket, the path Bun and
 * Deno always take. Each test file runs in a process of its own, so the switch stays here.
 */
process.env.TSGI_FASTCGI_TEST_UNIX = "1";
await import("./listener.test.ts");
await import("./bad-input.test.ts");
