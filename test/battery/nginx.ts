/**
 * nginx for the proxy tests: started in the foreground (`daemon off`) from
 * examples/deploy/nginx-proxy.conf rendered into a temp dir, with its pid file and error log
 * there too, on 127.0.0.1 and an ephemeral port; stopped by PID (stopAll).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, start, waitForPort, type Started } from "../support/process.ts";
import { ROOT } from "../support/runtime.ts";

/** Fill `@NAME@` placeholders of an examples/deploy file; every placeholder must be given. */
export function render(file: string, values: Record<string, string>): string {
  return readFileSync(join(ROOT, "examples/deploy", file), "utf8").replace(/@([A-Z_]+)@/g, (m, k: string) => {
    if (!(k in values)) throw new Error(`${file}: no value for ${m}`);
    return values[k];
  });
}

export interface Nginx {
  proc: Started;
  port: number;
  errorLog(): string;
}

/** Start nginx in `dir` proxying `location` to `backend` (HOST:PORT or unix:/path). */
export async function startNginx(bin: string, dir: string, location: string, backend: string): Promise<Nginx> {
  const port = await freePort();
  const path = join(dir, `nginx-${port}`);
  mkdirSync(path);
  chmodSync(path, 0o755);
  writeFileSync(join(path, "site.conf"), render("nginx-proxy.conf", { LISTEN: `127.0.0.1:${port}`, LOCATION: location, BACKEND: backend, NAME: `tsgi_${port}` }));
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `${t}_temp_path ${join(path, t)};`).join("\n  ");
  const root = process.getuid?.() === 0;
  writeFileSync(join(path, "nginx.conf"), `daemon off;
${root ? "user root;" : ""}
worker_processes 1;
pid ${join(path, "nginx.pid")};
error_log ${join(path, "error.log")} warn;
events { worker_connections 256; }
http {
  access_log off;
  ${temp}
  include ${join(path, "site.conf")};
}
`);
  const proc = start(bin, ["-e", join(path, "error.log"), "-p", path + "/", "-c", join(path, "nginx.conf")]);
  try {
    await waitForPort({ host: "127.0.0.1", port }, 10_000);
  } catch (err) {
    throw new Error(`nginx did not start: ${(err as Error).message}\n${proc.output()}\n${readLog(join(path, "error.log"))}`);
  }
  return { proc, port, errorLog: () => readLog(join(path, "error.log")) };
}

function readLog(p: string): string {
  return existsSync(p) ? readFileSync(p, "utf8") : "";
}
