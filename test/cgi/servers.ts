/**
 * The three CGI web servers, started on 127.0.0.1 with an ephemeral port and a config rendered
 * from examples/deploy/ (the documented files), each in its own run folder, stopped by PID.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, requirePeer, start, waitForPort, type Started } from "../support/process.ts";
import { deployFile, IS_ROOT, render, WEB_USER, type Stage } from "./stage.ts";

export interface CgiServer {
  name: string;
  port: number;
  url: string;
  /** The server's error log (where the scripts' stderr goes), for assertions. */
  errorLog(): string;
  stop(): Promise<void>;
}

export type ServerKind = "apache-cgid" | "apache-cgi" | "lighttpd" | "busybox";

/** The binary each kind needs and its Debian package. */
export const PEERS: Record<ServerKind, [string, string]> = {
  "apache-cgid": ["apache2", "apache2"],
  "apache-cgi": ["apache2", "apache2"],
  lighttpd: ["lighttpd", "lighttpd"],
  busybox: ["busybox", "busybox"],
};

/** Extra environment for the scripts (e.g. TSGI_BATTERY_STATE), set through each server's own mechanism. */
export type ScriptEnv = Record<string, string>;

export async function startServer(kind: ServerKind, stage: Stage, env: ScriptEnv = {}): Promise<CgiServer | null> {
  const [bin, pkg] = PEERS[kind];
  const binPath = requirePeer(bin, pkg);
  if (binPath === null) return null;
  const port = await freePort();
  const run = stage.runDir(kind);
  const values = { CGIBIN: stage.cgiBin, PATH: stage.path, CACHE_DIR: stage.cache };
  let proc: Started;
  let log: string;
  if (kind === "apache-cgid" || kind === "apache-cgi") {
    const mpm = kind === "apache-cgid" ? "event" : "prefork";
    const site = render(readFileSync(deployFile("apache-cgi.conf"), "utf8"), values);
    const setEnv = Object.entries(env).map(([k, v]) => `SetEnv ${k} "${v}"`).join("\n");
    log = join(run, "error.log");
    writeFileSync(join(run, "httpd.conf"), [
      `ServerRoot /usr/lib/apache2`,
      `ServerName 127.0.0.1`,
      `Listen 127.0.0.1:${port}`,
      `PidFile ${run}/httpd.pid`,
      `DefaultRuntimeDir ${run}`,
      `ErrorLog ${log}`,
      `LogLevel info`,
      IS_ROOT ? `User ${WEB_USER}\nGroup ${WEB_USER}` : "",
      `LoadModule mpm_${mpm}_module /usr/lib/apache2/modules/mod_mpm_${mpm}.so`,
      `LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so`,
      `<IfModule mpm_event_module>\n  StartServers 1\n  ServerLimit 2\n  ThreadsPerChild 8\n  MaxRequestWorkers 16\n</IfModule>`,
      `<IfModule mpm_prefork_module>\n  StartServers 2\n  MaxRequestWorkers 8\n</IfModule>`,
      `<Directory />\n  Require all denied\n</Directory>`,
      site,
      `<Directory "${stage.cgiBin}">\n${setEnv}\n</Directory>`,
      // After the site file, which loads mod_cgid.
      `<IfModule cgid_module>\n  ScriptSock ${run}/cgid.sock\n</IfModule>`,
    ].join("\n"));
    proc = start(binPath, ["-f", join(run, "httpd.conf"), "-DFOREGROUND"]);
  } else if (kind === "lighttpd") {
    const site = render(readFileSync(deployFile("lighttpd-cgi.conf"), "utf8"), values)
      .replace(/setenv\.add-environment = \(\n/, (m) => m + Object.entries(env).map(([k, v]) => `        "${k}" => "${v}",\n`).join(""));
    log = join(run, "error.log");
    writeFileSync(log, "");
    writeFileSync(join(run, "lighttpd.conf"), [
      `server.document-root = "${stage.cgiBin}"`,
      `server.bind = "127.0.0.1"`,
      `server.port = ${port}`,
      `server.errorlog = "${log}"`,
      IS_ROOT ? `server.username = "${WEB_USER}"\nserver.groupname = "${WEB_USER}"` : "",
      `server.modules = ()`,
      // lighttpd normalises URLs by default: it decodes %-escapes of unreserved characters
      // (%41 -> A) even in QUERY_STRING, merges slashes and refuses some bytes. Apps rarely
      // notice; the battery compares raw bytes, so this test server turns it off.
      `server.http-parseopts = ( "url-normalize" => "disable" )`,
      site,
    ].join("\n"));
    if (IS_ROOT) await chownWeb(log);
    proc = start(binPath, ["-D", "-f", join(run, "lighttpd.conf")]);
  } else {
    // busybox httpd serves <home>/cgi-bin; the stage root is that home.
    const conf = render(readFileSync(deployFile("busybox-httpd.conf"), "utf8"), { CGI_RUN: join(stage.bin, "cgi-run") });
    writeFileSync(join(run, "httpd.conf"), conf);
    const args = ["httpd", "-f", "-vv", "-p", `127.0.0.1:${port}`, "-h", stage.root, "-c", join(run, "httpd.conf")];
    if (IS_ROOT) args.push("-u", `${WEB_USER}:${WEB_USER}`);
    proc = start(binPath, args, { env: { PATH: stage.path, TSGI_CACHE_DIR: stage.cache, ...env } });
    log = "";
  }
  try {
    await waitForPort({ port }, 10_000);
  } catch (err) {
    await proc.stop();
    throw new Error(`${kind} did not start: ${(err as Error).message}\n${proc.output()}${log ? safeRead(log) : ""}`);
  }
  return {
    name: kind,
    port,
    url: `http://127.0.0.1:${port}`,
    errorLog: () => (log ? safeRead(log) : "") + proc.output(),
    stop: () => proc.stop(),
  };
}

function safeRead(p: string): string {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return "";
  }
}

async function chownWeb(path: string): Promise<void> {
  const { spawnSync } = await import("node:child_process");
  spawnSync("chown", [`${WEB_USER}:${WEB_USER}`, path]);
}
