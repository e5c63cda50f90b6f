/**
 * `tsgi/uwsgi`: serve any tsgi app over the uwsgi protocol, as the backend of nginx
 * `uwsgi_pass`, Apache `mod_proxy_uwsgi` or uWSGI's HTTP router. See docs/uwsgi.md.
 *
 * ```ts
 * import { Gateway } from "tsgi";
 * import { listen } from "tsgi/uwsgi";
 * const listener = await listen(new Gateway(app), { host: "127.0.0.1", port: 3031 });
 * ```
 */
export { listen, type UwsgiOptions } from "./server.ts";
export { decodeHeader, decodeVars, encodeVars, encodePacket, UwsgiProtocolError, HEADER_SIZE, MAX_VARS_SIZE, MODIFIER1_HTTP, type PacketHeader } from "./codec.ts";
export { BodyStalled } from "./connection.ts";
