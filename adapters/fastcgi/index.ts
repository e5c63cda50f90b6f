/**
 * `tsgi/fastcgi`: serve any tsgi app to a web server over FastCGI 1.0 — the app side of nginx
 * `fastcgi_pass`, Apache `mod_proxy_fcgi`/`mod_authnz_fcgi`, lighttpd `mod_fastcgi` and HAProxy
 * `fcgi-app`. Responder and Authorizer roles, FCGI_KEEP_CONN, multiplexing, GET_VALUES,
 * ABORT_REQUEST; see docs/fastcgi.md.
 *
 * ```ts
 * import { Gateway } from "tsgi";
 * import { listen } from "tsgi/fastcgi";
 * const listener = await listen(new Gateway(app), { host: "127.0.0.1", port: 9000 });
 * ```
 */
export { listen, type FastCgiOptions } from "./server.ts";
export * as codec from "./codec.ts";
export { RecordReader, type RecordHandler } from "./reader.ts";
