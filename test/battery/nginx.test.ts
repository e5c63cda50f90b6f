/**
 * The conformance battery through real nginx (proxy_pass, examples/deploy/nginx-proxy.conf) in
 * front of `tsgi serve --http`: TCP at the root, and a unix socket under a mount.
 * In CI a missing nginx is a failure (requirePeer).
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe } from "node:test";
import { runBattery } from "../../src/testing/index.ts";
import { requirePeer, stopAll } from "../support/process.ts";
import { startNginx } from "./nginx.ts";
import { BATTERY_APP, runtimeLimits, startTsgi } from "./serve.ts";

const nginx = requirePeer("nginx", "nginx");
const dir = mkdtempSync(join(tmpdir(), "tsgi-nginx-proxy-"));
chmodSync(dir, 0o755);
after(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

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
  describe(`battery: nginx proxy_pass → tsgi serve (${v.name})`, { skip: nginx === null ? "nginx not installed (apt-get install nginx)" : false }, () => {
    let url = "";
    before(async () => {
      const sock = join(dir, `tsgi-${v.unix ? "u" : "t"}.sock`);
      const args = [BATTERY_APP, "--http", v.unix ? sock : "127.0.0.1:0", "--socket-mode", "666"];
      if (v.mount) args.push("--mount", v.mount);
      const tsgi = await startTsgi(args);
      const backend = v.unix ? `unix:${sock}` : tsgi.urls[0].replace(/^http:\/\//, "");
      const front = await startNginx(nginx!, dir, v.location, backend);
      url = `http://127.0.0.1:${front.port}`;
    });
    runBattery({ baseUrl: () => url, mount: v.mount, ...NGINX });
  });
}
