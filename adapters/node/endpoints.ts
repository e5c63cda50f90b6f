/** The listener's half of a request's CGI keys (SERVER_*, REMOTE_*): the same for every request on a connection. */
import type { Socket } from "node:net";

export interface Endpoints {
  serverName: string;
  serverPort: string;
  remoteAddr: string | undefined;
  remotePort: string | undefined;
}

const ENDPOINTS = Symbol("tsgi.endpoints");

/** Computed once per socket and kept on it: node's address getters make a syscall each time. */
export function endpoints(sock: Socket & { [ENDPOINTS]?: Endpoints }): Endpoints {
  let e = sock[ENDPOINTS];
  if (e === undefined) {
    const rp = sock.remotePort;
    e = {
      serverName: sock.localAddress ?? "localhost",
      serverPort: sock.localPort === undefined ? "" : String(sock.localPort),
      remoteAddr: sock.remoteAddress,
      remotePort: rp === undefined ? undefined : String(rp),
    };
    sock[ENDPOINTS] = e;
  }
  return e;
}
