/**
 * listener.test.ts again with `portable: true`: on Node the listener then serves every
 * connection through a net.Socket, the path Bun and Deno always take (the default path on Node
 * serves bodiless requests on the raw handle, adapters/node/native.ts). Each test file runs in
 * a process of its own, so the switch stays here.
 */
process.env.TSGI_UWSGI_TEST_PORTABLE = "1";
await import("./listener.test.ts");
