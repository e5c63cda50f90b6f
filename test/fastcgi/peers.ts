/**
 * Real front servers for the FastCGI peer tests, each started in the foreground from the config
 * in examples/deploy/ (rendered into a temp dir), on 127.0.0.1 or unix sockets, stopped by PID.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request as httpRequest } from "node:http";
import { freePort, start, waitForPort, type Started } from "../support/process.ts";
import { ROOT, runtime, tsgiCommand } from "../support/runtime.ts";

export const IS_ROOT = process.getuid?.() === 0;
export const BATTERY_APP = "src/testing/battery/app.ts";

/** A fresh temp dir, world-traversable so that www-data workers reach sockets in it. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tsgi-fcgi-peer-"));
  chmodSync(dir, 0o755);
  return dir;
}

/** Fill `@NAME@` placeholders of an examples/deploy file; every placeholder must be given. */
export function render(file: string, values: Record<string, string>): string {
  return readFileSync(join(ROOT, "examples/deploy", file), "utf8").replace(/@([A-Z_]+)@/g, (m, k: string) => {
    if (!(k in values)) throw new Error(`${file}: no value for ${m}`);
    return values[k];
  });
}

/** True when `tsgi serve` has the --fastcgi flag. */
function cliHasFastcgi(): boolean {
  const src = join(ROOT, "src/cli/tsgi.ts");
  return existsSync(src) && readFileSync(src, "utf8").includes("--fastcgi") && (runtime() !== "node" || existsSync(join(ROOT, "dist/src/cli/tsgi.js")));
}

/**
 * The command line that serves `app` (repo-relative .ts, optionally `:export`) over FastCGI on
 * `addr` (HOST:PORT or a socket path; undefined: the listening socket on fd 0), on the runtime
 * under test: `tsgi serve` once the CLI has --fastcgi, test/fastcgi/serve.ts until then.
 */
export function tsgiFastcgi(app: string, addr: string | undefined, extra: string[] = []): [string, string[]] {
  const [file, name] = app.split(":");
  const abs = join(ROOT, file) + (name ? `:${name}` : "");
  if (cliHasFastcgi()) return tsgiCommand(["serve", abs, "--fastcgi", ...(addr ? [addr] : []), ...extra]);
  const rt = runtime();
  const args = [...(addr ? [addr] : ["fd:0"]), ...extra];
  if (rt === "node") {
    const js = join(ROOT, "dist", file.replace(/\.ts$/, ".js")) + (name ? `:${name}` : "");
    return [process.execPath, [join(ROOT, "dist/test/fastcgi/serve.js"), js, ...args]];
  }
  if (rt === "bun") return [join(ROOT, "node_modules/.bin/bun"), [join(ROOT, "test/fastcgi/serve.ts"), abs, ...args]];
  return [join(ROOT, "node_modules/.bin/deno"), ["run", "-A", "--no-check", join(ROOT, "test/fastcgi/serve.ts"), abs, ...args]];
}

/** Start tsgi on `addr` and wait until it accepts connections. */
export async function startTsgi(app: string, addr: string, extra: string[] = []): Promise<Started> {
  const [cmd, args] = tsgiFastcgi(app, addr, extra);
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const s = start(cmd, args, { env });
  const target = addr.startsWith("/") ? { path: addr } : { host: "127.0.0.1", port: Number(addr.split(":").pop()) };
  try {
    await waitForPort(target, 30_000);
  } catch (err) {
    throw new Error(`tsgi did not start: ${(err as Error).message}\n${s.output()}`);
  }
  return s;
}

/** A tsgi backend on TCP or a unix socket in `dir`: the process and its address. */
export async function backend(dir: string, transport: "tcp" | "unix", app: string, extra: string[] = []): Promise<{ tsgi: Started; addr: string; tcp: boolean }> {
  const addr = transport === "tcp" ? `127.0.0.1:${await freePort()}` : join(dir, `tsgi-${Math.random().toString(36).slice(2)}.sock`);
  // Apache's (and cgi-fcgi's) workers run as www-data: they need write permission on the socket.
  const tsgi = await startTsgi(app, addr, transport === "unix" ? ["--socket-mode", "666", ...extra] : extra);
  return { tsgi, addr, tcp: transport === "tcp" };
}

export interface Front {
  port: number;
  baseUrl: string;
  proc: Started;
  /** The front server's error log so far. */
  errorLog(): string;
}

function readLog(path: string): string {
  return existsSync(path) ? readFileSync(path, "utf8") : "";
}

async function sub(dir: string, name: string): Promise<{ port: number; path: string }> {
  const port = await freePort();
  const path = join(dir, `${name}-${port}`);
  mkdirSync(path);
  chmodSync(path, 0o755);
  return { port, path };
}

/** Wait for a front server's port; if it never opens, say why (its output and error log). */
async function up(name: string, proc: Started, port: number, log: string): Promise<void> {
  try {
    // A server that exits at once (a config error) fails now, not after waitForPort's 10 s.
    let exited: () => void = () => {};
    const early = new Promise<never>((_, reject) => {
      exited = () => reject(new Error(`it exited with status ${proc.child.exitCode ?? proc.child.signalCode}`));
      proc.child.once("exit", exited);
    });
    try {
      await Promise.race([waitForPort({ host: "127.0.0.1", port }), early]);
    } finally {
      proc.child.off("exit", exited);
      early.catch(() => {});
    }
  } catch (err) {
    throw new Error(`${name} did not start: ${(err as Error).message}\n${proc.output()}${readLog(log)}`);
  }
}

/** nginx (foreground, one worker) with `site` (an examples/deploy file) as its site. */
export async function startNginx(bin: string, dir: string, site: string, values: Record<string, string>): Promise<Front> {
  const { port, path } = await sub(dir, "nginx");
  copyFileSync("/etc/nginx/fastcgi_params", join(path, "fastcgi_params")); // `include fastcgi_params` is relative to the config
  writeFileSync(join(path, "site.conf"), render(site, { LISTEN: `127.0.0.1:${port}`, ...values }));
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `${t}_temp_path ${join(path, t)};`).join("\n  ");
  writeFileSync(join(path, "nginx.conf"), `daemon off;
${IS_ROOT ? "user root;" : ""}
worker_processes 1;
pid ${join(path, "nginx.pid")};
error_log ${join(path, "error.log")} warn;
events { worker_connections 512; }
http {
  access_log off;
  ${temp}
  include ${join(path, "site.conf")};
}
`);
  const proc = start(bin, ["-e", join(path, "error.log"), "-p", path + "/", "-c", join(path, "nginx.conf")]);
  await up("nginx", proc, port, join(path, "error.log"));
  return { port, baseUrl: `http://127.0.0.1:${port}`, proc, errorLog: () => readLog(join(path, "error.log")) };
}

/** Apache httpd (foreground, event MPM) including the given examples/deploy files. */
export async function startApache(bin: string, dir: string, sites: [file: string, values: Record<string, string>][], extra = ""): Promise<Front> {
  const { port, path } = await sub(dir, "apache");
  const includes = sites.map(([file, values], i) => {
    writeFileSync(join(path, `site${i}.conf`), render(file, values));
    return `Include ${join(path, `site${i}.conf`)}`;
  });
  writeFileSync(join(path, "httpd.conf"), `ServerRoot /usr/lib/apache2
DefaultRuntimeDir ${path}
Listen 127.0.0.1:${port}
ServerName localhost
PidFile ${join(path, "httpd.pid")}
ErrorLog ${join(path, "error.log")}
LogLevel warn
LoadModule mpm_event_module modules/mod_mpm_event.so
LoadModule authz_core_module modules/mod_authz_core.so
${IS_ROOT ? "User www-data\nGroup www-data" : ""}
${extra}
${includes.join("\n")}
`);
  const proc = start(bin, ["-f", join(path, "httpd.conf"), "-DFOREGROUND"]);
  await up("apache2", proc, port, join(path, "error.log"));
  return { port, baseUrl: `http://127.0.0.1:${port}`, proc, errorLog: () => readLog(join(path, "error.log")) };
}

/** lighttpd (foreground) with examples/deploy/lighttpd-fastcgi.conf: it spawns tsgi itself. */
export async function startLighttpd(bin: string, dir: string, values: Record<string, string>): Promise<Front> {
  const { port, path } = await sub(dir, "lighttpd");
  writeFileSync(join(path, "fastcgi.conf"), render("lighttpd-fastcgi.conf", values));
  writeFileSync(join(path, "lighttpd.conf"), `server.document-root = "${path}"
server.bind = "127.0.0.1"
server.port = ${port}
server.errorlog = "${join(path, "error.log")}"
server.max-request-size = 102400
include "${join(path, "fastcgi.conf")}"
`);
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const proc = start(bin, ["-D", "-f", join(path, "lighttpd.conf")], { env });
  await up("lighttpd", proc, port, join(path, "error.log"));
  return { port, baseUrl: `http://127.0.0.1:${port}`, proc, errorLog: () => readLog(join(path, "error.log")) };
}

/** HAProxy (foreground) with examples/deploy/haproxy-fcgi.cfg. */
export async function startHaproxy(bin: string, dir: string, values: Record<string, string>): Promise<Front> {
  const { port, path } = await sub(dir, "haproxy");
  writeFileSync(join(path, "haproxy.cfg"), render("haproxy-fcgi.cfg", { LISTEN: `127.0.0.1:${port}`, ...values }).replace("log-stderr global", "# log-stderr global"));
  const proc = start(bin, ["-db", "-f", join(path, "haproxy.cfg")]);
  await up("haproxy", proc, port, "");
  return { port, baseUrl: `http://127.0.0.1:${port}`, proc, errorLog: () => proc.output() };
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A plain HTTP/1.1 request to a front server (Connection: close). */
export function http(front: Front, method: string, path: string, headers: Record<string, string> = {}, body?: Uint8Array): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port: front.port, method, path, headers: { connection: "close", ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(20_000, () => req.destroy(new Error(`${method} ${path}: no answer in 20 s`)));
    req.end(body);
  });
}
