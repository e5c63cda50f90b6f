/**
 * Real front servers for the peer tests (test/fastcgi, test/uwsgi, test/battery, test/hono),
 * each started in the foreground from a config in examples/deploy/ rendered into a temp dir,
 * listening on 127.0.0.1 (backends on 127.0.0.1 or unix sockets), stopped by PID (process.ts).
 * nginx and Apache live here because several protocols use them; a front only one protocol
 * uses (lighttpd, HAProxy, uWSGI's router) is built in its folder from frontDir/front.
 */
import assert from "node:assert/strict";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe } from "node:test";
import { runBattery, type BatteryOptions } from "../../src/testing/battery/index.ts";
import { freePort, requirePeer, start, stopAll, waitForPort, type Started } from "./process.ts";
import { ROOT } from "./runtime.ts";

/** As root, Apache's workers run as www-data (it refuses root) and nginx's stay root (not nobody). */
export const IS_ROOT = process.getuid?.() === 0;
/** The web servers' user when the tests run as root (CI): Debian's www-data, whose home is not writable. */
export const WEB_USER = "www-data";
export const BATTERY_APP = "src/testing/battery/app.ts";

/**
 * A peer binary and the reason to skip its suite when it is missing (`bin` is then ""). Under
 * CI a missing peer throws here instead (requirePeer): there it is a failure, not a skip.
 */
export function peer(bin: string, debianPackage = bin): { bin: string; skip: string | false } {
  const path = requirePeer(bin, debianPackage);
  return { bin: path ?? "", skip: path ? false : `${bin} not installed (apt-get install ${debianPackage})` };
}

/** A fresh temp dir, world-traversable so that www-data workers reach sockets in it. */
export function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tsgi-${name}-`));
  chmodSync(dir, 0o755);
  return dir;
}

/** For `after`: stop everything the tests started, then remove their temp dir. */
export async function stopAndRemove(dir: string): Promise<void> {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A describe for the tests through one kind of peer: `body` gets a fresh temp dir, removed in
 * an `after` hook once everything the tests started is stopped.
 */
export function peerSuite(name: string, skip: string | false, body: (dir: string) => void): void {
  describe(name, { skip }, () => {
    const dir = tempDir("peer");
    after(() => stopAndRemove(dir));
    body(dir);
  });
}

/** Fill `@NAME@` placeholders of an examples/deploy file; every placeholder must be given. */
export function render(file: string, values: Record<string, string>): string {
  return readFileSync(join(ROOT, "examples/deploy", file), "utf8").replace(/@([A-Z_]+)@/g, (m, k: string) => {
    if (!(k in values)) throw new Error(`${file}: no value for ${m}`);
    return values[k];
  });
}

function readLog(path: string): string {
  return existsSync(path) ? readFileSync(path, "utf8") : "";
}

/** A child's environment without NODE_EXTRA_CA_CERTS: ~55 ms per Node start, and web servers don't pass it. */
export function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

type Target = { port: number; host?: string } | { path: string };

/**
 * Wait until `target` accepts connections. A process that exits first (a config error) fails
 * at once instead of after the timeout, and the error carries its output and its `log` file.
 */
async function up(name: string, proc: Started, target: Target, opts: { log?: string; timeoutMs?: number } = {}): Promise<void> {
  let exited = () => {};
  const early = new Promise<never>((_, reject) => {
    exited = () => reject(new Error(`it exited with status ${proc.child.exitCode ?? proc.child.signalCode}`));
    proc.child.once("exit", exited);
  });
  early.catch(() => {});
  try {
    await Promise.race([waitForPort(target, opts.timeoutMs), early]);
  } catch (err) {
    throw new Error(`${name} did not start: ${(err as Error).message}\n${proc.output()}${opts.log ? readLog(opts.log) : ""}`);
  } finally {
    proc.child.off("exit", exited);
  }
}

/** Where a backend listens: a free port on 127.0.0.1, or a fresh socket path in `dir`. */
export async function backendAddr(dir: string, transport: "tcp" | "unix"): Promise<string> {
  return transport === "tcp" ? `127.0.0.1:${await freePort()}` : join(dir, `tsgi-${Math.random().toString(36).slice(2)}.sock`);
}

/** Start a tsgi backend (`[cmd, args]`) listening on `addr` (HOST:PORT or a socket path) and wait for it. */
export async function startBackend([cmd, args]: [string, string[]], addr: string): Promise<Started> {
  const proc = start(cmd, args, { env: childEnv(), cwd: ROOT });
  // 30 s: Bun and Deno compile the TypeScript sources on a cold start.
  await up("tsgi", proc, addr.startsWith("/") ? { path: addr } : { port: Number(addr.split(":").pop()) }, { timeoutMs: 30_000 });
  return proc;
}

export interface Front {
  port: number;
  baseUrl: string;
  /** The front server's error log so far. */
  errorLog(): string;
}

/** A port for a front server and its own folder in `dir` (config, pid file, logs). */
export async function frontDir(dir: string, name: string): Promise<{ port: number; path: string }> {
  const port = await freePort();
  const path = join(dir, `${name}-${port}`);
  mkdirSync(path);
  chmodSync(path, 0o755);
  return { port, path };
}

/** Wait for a front server on `port`; its error log is the file `log`, or else its output. */
export async function front(name: string, proc: Started, port: number, log?: string): Promise<Front> {
  await up(name, proc, { port }, { log });
  return { port, baseUrl: `http://127.0.0.1:${port}`, errorLog: () => (log ? readLog(log) : proc.output()) };
}

/**
 * nginx (foreground, one worker) with `site` (an examples/deploy file) as its only site. The
 * examples `include fastcgi_params` or `uwsgi_params`, which nginx looks for next to its config:
 * `params` names the Debian file to copy there.
 */
export async function startNginx(bin: string, dir: string, site: string, values: Record<string, string>, params?: "fastcgi_params" | "uwsgi_params"): Promise<Front> {
  const { port, path } = await frontDir(dir, "nginx");
  if (params) copyFileSync(join("/etc/nginx", params), join(path, params));
  writeFileSync(join(path, "site.conf"), render(site, { LISTEN: `127.0.0.1:${port}`, ...values }));
  // Temp paths and logs in the folder: Debian's defaults (/var/lib/nginx, /var/log/nginx) need root.
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `${t}_temp_path ${join(path, t)};`).join("\n  ");
  const log = join(path, "error.log");
  writeFileSync(join(path, "nginx.conf"), `daemon off;
${IS_ROOT ? "user root;" : ""}
worker_processes 1;
pid ${join(path, "nginx.pid")};
error_log ${log} warn;
events { worker_connections 512; }
http {
  access_log off;
  ${temp}
  include ${join(path, "site.conf")};
}
`);
  // -e: the log for errors before the config is read, which would go to /var/log/nginx.
  return front("nginx", start(bin, ["-e", log, "-p", path + "/", "-c", join(path, "nginx.conf")]), port, log);
}

export interface ApacheOptions {
  /** Debian's default is event; mod_cgi (not mod_cgid) wants prefork. */
  mpm?: "event" | "prefork";
  /** Config lines before the site includes: MPM sizes, <Directory> blocks, SetEnv. */
  extra?: string;
}

/** Apache httpd (foreground) including the given examples/deploy files, rendered. */
export async function startApache(bin: string, dir: string, sites: [file: string, values: Record<string, string>][], { mpm = "event", extra = "" }: ApacheOptions = {}): Promise<Front> {
  const { port, path } = await frontDir(dir, "apache");
  const includes = sites.map(([file, values], i) => {
    writeFileSync(join(path, `site${i}.conf`), render(file, values));
    return `Include ${join(path, `site${i}.conf`)}`;
  });
  const log = join(path, "error.log");
  writeFileSync(join(path, "httpd.conf"), `ServerRoot /usr/lib/apache2
DefaultRuntimeDir ${path}
Listen 127.0.0.1:${port}
ServerName localhost
PidFile ${join(path, "httpd.pid")}
ErrorLog ${log}
LogLevel warn
LoadModule mpm_${mpm}_module modules/mod_mpm_${mpm}.so
LoadModule authz_core_module modules/mod_authz_core.so
${IS_ROOT ? `User ${WEB_USER}\nGroup ${WEB_USER}` : ""}
${extra}
${includes.join("\n")}
`);
  return front("apache2", start(bin, ["-f", join(path, "httpd.conf"), "-DFOREGROUND"]), port, log);
}

/**
 * One way of serving the battery: tsgi's transport and the mount; when a suite tries several,
 * the site file, and tsgi's extra arguments.
 */
export interface Setup {
  transport: "tcp" | "unix";
  mount: string;
  site?: string;
  extra?: readonly string[];
}

/**
 * The conformance battery through a front server, one describe per setup: `start` starts tsgi
 * and the front, `limits` says what the front cannot do, `checks` adds tests on the front
 * afterwards (its error log).
 */
export function batteryThrough<S extends Setup>(setups: readonly S[], start: (s: S) => Promise<Front>, limits: (s: S) => Pick<BatteryOptions, "capabilities" | "skip">, checks?: (front: () => Front, s: S) => void): void {
  for (const s of setups) {
    const at = s.mount ? `mounted at ${s.mount}${s.extra?.includes("--mount") ? " (--mount)" : ""}` : "at /";
    describe(`battery${s.site ? `: ${s.site}` : ""} over ${s.transport}, ${at}`, () => {
      let f: Front;
      before(async () => {
        f = await start(s);
      });
      runBattery({ baseUrl: () => f.baseUrl, mount: s.mount, ...limits(s) });
      checks?.(() => f, s);
    });
  }
}

export interface HttpResult {
  status: number;
  statusMessage: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A plain HTTP/1.1 request to a front server (Connection: close). */
export function http(to: Front, method: string, path: string, headers: Record<string, string | string[]> = {}, body?: Uint8Array): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port: to.port, method, path, headers: { connection: "close", ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode!, statusMessage: res.statusMessage!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(20_000, () => req.destroy(new Error(`${method} ${path}: no answer in 20 s`)));
    req.end(body);
  });
}

/** GET `path` from an echo app (test/fastcgi/peer-app.ts, test/uwsgi/apps.ts:echo): the environ it saw. */
export async function environ(to: Front, path: string, headers: Record<string, string> = {}): Promise<Record<string, string>> {
  const r = await http(to, "GET", path, headers);
  assert.equal(r.status, 200, r.body.toString());
  return JSON.parse(r.body.toString()).env;
}

/** Each variable as given; undefined: the variable must be absent. */
export function assertEnv(env: Record<string, string>, want: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(want)) assert.equal(env[k], v, k);
}

/** Six 8 MB uploads to an app path that answers 202 "early\n" unread: all answered (the listener drains the body). */
export async function ignoredUploads(to: Front, path: string): Promise<void> {
  const body = Buffer.alloc(8 * 1024 * 1024, 1);
  for (let i = 0; i < 6; i++) {
    const r = await http(to, "POST", path, { "content-type": "application/octet-stream" }, body);
    assert.equal(r.status, 202, `try ${i + 1}: ${r.body.toString().slice(0, 200)}`);
    assert.equal(r.body.toString(), "early\n");
  }
}
