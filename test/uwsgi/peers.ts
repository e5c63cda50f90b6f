/**
 * Real front servers for the uwsgi peer tests: tsgi's uwsgi listener behind nginx, Apache and
 * uWSGI's HTTP router, each started in the foreground from the config in examples/deploy/
 * (rendered into a temp dir), on 127.0.0.1 or unix sockets, stopped by PID.
 */
import { copyFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request as httpRequest } from "node:http";
import { freePort, start, waitForPort, type Started } from "../support/process.ts";
import { ROOT, runtime, tsgiCommand } from "../support/runtime.ts";

const IS_ROOT = process.getuid?.() === 0;

/** A fresh temp dir; world-traversable so that Apache's www-data workers reach sockets in it. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tsgi-uwsgi-peer-"));
  chmodSync(dir, 0o755);
  return dir;
}

/** Fill `@NAME@` placeholders of an examples/deploy file; every placeholder must be given. */
export function render(file: string, values: Record<string, string>): string {
  const text = readFileSync(join(ROOT, "examples/deploy", file), "utf8").replace(/@([A-Z]+)@/g, (m, k: string) => {
    if (!(k in values)) throw new Error(`${file}: no value for ${m}`);
    return values[k];
  });
  return text;
}

/** True when `tsgi serve` has the --uwsgi flag (the CLI imports this adapter). */
function cliHasUwsgi(): boolean {
  const src = join(ROOT, "src/cli/tsgi.ts");
  return existsSync(src) && readFileSync(src, "utf8").includes("--uwsgi") && (runtime() !== "node" || existsSync(join(ROOT, "dist/src/cli/tsgi.js")));
}

/**
 * Start tsgi serving `app` (a repo-relative .ts file, optionally `:export`) on the uwsgi
 * address `addr` (HOST:PORT or a socket path), through `tsgi serve` on the runtime under test.
 */
export async function startTsgi(app: string, addr: string, mount?: string): Promise<Started> {
  const extra = mount ? ["--mount", mount] : [];
  let cmd: [string, string[]];
  // Apache's workers run as www-data (when the tests run as root): the socket must be writable for them.
  if (cliHasUwsgi()) cmd = tsgiCommand(["serve", join(ROOT, app), "--uwsgi", addr, ...extra, ...(addr.startsWith("/") ? ["--socket-mode", "666"] : [])]);
  else {
    // Until the CLI has --uwsgi: the same listener through test/uwsgi/serve.ts.
    const [file, name] = app.split(":");
    const spec = (f: string) => (name ? `${f}:${name}` : f);
    const rt = runtime();
    if (rt === "node") cmd = [process.execPath, [join(ROOT, "dist/test/uwsgi/serve.js"), spec(join(ROOT, "dist", file.replace(/\.ts$/, ".js"))), addr, ...extra]];
    else if (rt === "bun") cmd = [join(ROOT, "node_modules/.bin/bun"), [join(ROOT, "test/uwsgi/serve.ts"), spec(join(ROOT, file)), addr, ...extra]];
    else cmd = [join(ROOT, "node_modules/.bin/deno"), ["run", "-A", "--no-check", join(ROOT, "test/uwsgi/serve.ts"), spec(join(ROOT, file)), addr, ...extra]];
  }
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const s = start(cmd[0], cmd[1], { env });
  const target = addr.startsWith("/") ? { path: addr } : { host: "127.0.0.1", port: Number(addr.split(":").pop()) };
  try {
    await waitForPort(target, 30_000);
  } catch (err) {
    throw new Error(`tsgi did not start: ${(err as Error).message}\n${s.output()}`);
  }
  return s;
}

export interface Front {
  port: number;
  baseUrl: string;
  proc: Started;
  /** The front server's error log so far. */
  errorLog(): string;
}

/** nginx (foreground, one worker) with examples/deploy/nginx-uwsgi.conf as its site. */
export async function startNginx(bin: string, dir: string, location: string, backend: string): Promise<Front> {
  const port = await freePort();
  const sub = join(dir, `nginx-${port}`);
  mkdirSync(sub);
  // The example says `include uwsgi_params`: nginx looks next to its config file.
  copyFileSync("/etc/nginx/uwsgi_params", join(sub, "uwsgi_params"));
  writeFileSync(join(sub, "site.conf"), render("nginx-uwsgi.conf", { LISTEN: `127.0.0.1:${port}`, LOCATION: location, BACKEND: backend }));
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `${t}_temp_path ${join(sub, t)};`).join("\n  ");
  writeFileSync(join(sub, "nginx.conf"), `daemon off;
${IS_ROOT ? "user root;" : ""}
worker_processes 1;
pid ${join(sub, "nginx.pid")};
error_log ${join(sub, "error.log")} warn;
events { worker_connections 512; }
http {
  access_log off;
  ${temp}
  include ${join(sub, "site.conf")};
}
`);
  const proc = start(bin, ["-e", join(sub, "error.log"), "-p", sub + "/", "-c", join(sub, "nginx.conf")]);
  await waitForPort({ host: "127.0.0.1", port });
  return { port, baseUrl: `http://127.0.0.1:${port}`, proc, errorLog: () => readLog(join(sub, "error.log")) };
}

/** Apache httpd (foreground, event MPM) with examples/deploy/apache-uwsgi.conf included. */
export async function startApache(bin: string, dir: string, location: string, backend: string): Promise<Front> {
  const port = await freePort();
  const sub = join(dir, `apache-${port}`);
  mkdirSync(sub);
  writeFileSync(join(sub, "site.conf"), render("apache-uwsgi.conf", { LOCATION: location, BACKEND: backend }));
  writeFileSync(join(sub, "httpd.conf"), `ServerRoot /usr/lib/apache2
DefaultRuntimeDir ${sub}
Listen 127.0.0.1:${port}
ServerName localhost
PidFile ${join(sub, "httpd.pid")}
ErrorLog ${join(sub, "error.log")}
LogLevel warn
LoadModule mpm_event_module modules/mod_mpm_event.so
LoadModule authz_core_module modules/mod_authz_core.so
${IS_ROOT ? "User www-data\nGroup www-data" : ""}
Include ${join(sub, "site.conf")}
`);
  const proc = start(bin, ["-f", join(sub, "httpd.conf"), "-DFOREGROUND"]);
  await waitForPort({ host: "127.0.0.1", port });
  return { port, baseUrl: `http://127.0.0.1:${port}`, proc, errorLog: () => readLog(join(sub, "error.log")) };
}

/** uWSGI's HTTP router with examples/deploy/uwsgi-http-router.ini. */
export async function startRouter(bin: string, dir: string, backend: string): Promise<Front> {
  const port = await freePort();
  const ini = join(dir, `router-${port}.ini`);
  writeFileSync(ini, render("uwsgi-http-router.ini", { LISTEN: `127.0.0.1:${port}`, BACKEND: backend }));
  const proc = start(bin, ["--ini", ini]);
  await waitForPort({ host: "127.0.0.1", port });
  return { port, baseUrl: `http://127.0.0.1:${port}`, proc, errorLog: () => proc.output() };
}

function readLog(path: string): string {
  return existsSync(path) ? readFileSync(path, "utf8") : "";
}

export interface HttpResult {
  status: number;
  statusMessage: string;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  body: Buffer;
}

/** A plain HTTP/1.1 request to a front server (Connection: close). */
export function http(front: Front, method: string, path: string, headers: Record<string, string | string[]> = {}, body?: Uint8Array): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port: front.port, method, path, headers: { connection: "close", ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode!, statusMessage: res.statusMessage!, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(20_000, () => req.destroy(new Error(`${method} ${path}: no answer in 20 s`)));
    req.end(body);
  });
}

/** Cases that fail through every adapter today (a core/battery disagreement, not uwsgi's). */
export const CORE_SKIPS: Record<string, string> = {
};

/** A unix socket cannot be reset: a response without Content-Length cut short looks complete. */
export const UNIX_SKIPS: Record<string, string> = {
  "close-after-error": "over a unix socket a failed response without Content-Length cannot be marked incomplete (no RST on unix sockets; uwsgi responses end at the close)",
};

/** tsgi serving `app` for a front server: `addr` is tsgi's --uwsgi address, `pass` nginx's uwsgi_pass form. */
export interface Backend {
  tsgi: Started;
  transport: "tcp" | "unix";
  addr: string;
  pass: string;
}

/** Start tsgi serving `app` over TCP or a unix socket in `dir`. */
export async function backend(dir: string, transport: "tcp" | "unix", app: string, mount?: string): Promise<Backend> {
  const addr = transport === "tcp" ? `127.0.0.1:${await freePort()}` : join(dir, `tsgi-${Math.random().toString(36).slice(2)}.sock`);
  return { tsgi: await startTsgi(app, addr, mount), transport, addr, pass: transport === "tcp" ? addr : `unix:${addr}` };
}
