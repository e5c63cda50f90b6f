/**
 * listener.test.ts and bad-input.test.ts again on unix sockets (how nginx and PHP-FPM are
 * usually wired), served on the raw accepted handle on Node as on TCP. Each test file runs in
 * a process of its own, so the switch stays here.
 */
process.env.TSGI_FASTCGI_TEST_UNIX = "1";
await import("./listener.test.ts");
await import("./bad-input.test.ts");
