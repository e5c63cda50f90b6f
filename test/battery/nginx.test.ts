/**
 * The conformance battery through real nginx (proxy_pass, examples/deploy/nginx-proxy.conf) in
 * front of `tsgi serve --http`: TCP at the root, and a unix socket under a mount.
 * In CI a missing nginx is a failure (peer).
 */
import { join } from "node:path";
import { after, before, describe } from "node:test";
import { runBattery } from "../../src/testing/index.ts";
import { peer, startNginx, stopAndRemove, tempDir } from "../support/peers.ts";
import { BATTERY_APP, runtimeLimits, startTsgi } from "./serve.ts";

const nginx = peer("nginx");
const dir = tempDir("nginx-proxy");
after(() => stopAndRemove(dir));

/** What nginx changes on the way, by design (each case is skipped with this reason). */
const limits = runtimeLimits();
const NGINX = {
  capabilities: {
    ...limits.capabilities,
    http10: "nginx talks HTTP/1.1 to the backend (proxy_http_version 1.1), so SERVER_PROTOCOL is HTTP/1.1",
  },
  skip: limits.skip,
};

const variants = [
  { name: "TCP, root", location: "/", mount: "", unix: false },
  { name: "unix socket, mounted at /app", location: "/app", mount: "/app", unix: true },
];

for (const v of variants) {
  describe(`battery: nginx proxy_pass → tsgi serve (${v.name})`, { skip: nginx.skip }, () => {
    let url = "";
    before(async () => {
      const sock = join(dir, `tsgi-${v.unix ? "u" : "t"}.sock`);
      const args = [BATTERY_APP, "--http", v.unix ? sock : "127.0.0.1:0", "--socket-mode", "666"];
      if (v.mount) args.push("--mount", v.mount);
      const tsgi = await startTsgi(args);
      const backend = v.unix ? `unix:${sock}` : tsgi.urls[0].replace(/^http:\/\//, "");
      // One site per nginx: any upstream name will do.
      url = (await startNginx(nginx.bin, dir, "nginx-proxy.conf", { LOCATION: v.location, BACKEND: backend, NAME: "tsgi" })).baseUrl;
    });
    runBattery({ baseUrl: () => url, mount: v.mount, ...NGINX });
  });
}
