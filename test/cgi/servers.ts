/**
 * The CGI web servers, each with a config rendered from examples/deploy/, on 127.0.0.1 and an
 * ephemeral port, in its own folder in the stage, stopped by PID (stopAll). Apache is the
 * shared one of test/support/peers.ts; lighttpd's and busybox's CGI set-ups are built here
 * from its frontDir/front, as only these tests run them.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { front, frontDir, peer, render, startApache, type Front } from "../support/peers.ts";
import { start } from "../support/process.ts";
import { IS_ROOT, WEB_USER, type Stage } from "./stage.ts";

export type ServerKind = "apache-cgid" | "apache-cgi" | "lighttpd" | "busybox";

/** The binary `kind` runs (its Debian package has the same name), or why its suite skips. */
export function serverPeer(kind: ServerKind): { bin: string; skip: string | false } {
  return peer(kind.startsWith("apache") ? "apache2" : kind);
}

/** Extra environment for the scripts (e.g. TSGI_BATTERY_STATE), set through each server's own mechanism. */
export type ScriptEnv = Record<string, string>;

/** Start `kind` (its binary `bin`) serving the stage's cgi-bin. */
export async function startServer(kind: ServerKind, bin: string, stage: Stage, env: ScriptEnv = {}): Promise<Front> {
  const values = { CGIBIN: stage.cgiBin, PATH: stage.path, CACHE_DIR: stage.cache };
  if (kind === "lighttpd") return startLighttpd(bin, stage, values, env);
  if (kind === "busybox") return startBusybox(bin, stage, env);
  // mod_cgid under the event MPM (Debian's default), mod_cgi under prefork: the site file
  // loads the one that fits. Few workers: a CGI request runs in a process of its own anyway.
  const event = kind === "apache-cgid";
  const setEnv = Object.entries(env).map(([k, v]) => `  SetEnv ${k} "${v}"`).join("\n");
  return startApache(bin, stage.root, [["apache-cgi.conf", values]], {
    mpm: event ? "event" : "prefork",
    extra: `${event ? "StartServers 1\nServerLimit 2\nThreadsPerChild 8\nMaxRequestWorkers 16" : "StartServers 2\nMaxRequestWorkers 8"}
<Directory />
  Require all denied
</Directory>
<Directory "${stage.cgiBin}">
${setEnv}
</Directory>`,
  });
}

/**
 * A server folder in the stage. As root it belongs to the web user the server becomes before
 * it writes there (lighttpd opens its error log only then).
 */
async function serverDir(stage: Stage, name: string): Promise<{ port: number; path: string }> {
  const dir = await frontDir(stage.root, name);
  if (IS_ROOT) spawnSync("chown", [`${WEB_USER}:${WEB_USER}`, dir.path]);
  return dir;
}

async function startLighttpd(bin: string, stage: Stage, values: Record<string, string>, env: ScriptEnv): Promise<Front> {
  const { port, path } = await serverDir(stage, "lighttpd");
  const site = render("lighttpd-cgi.conf", values)
    .replace(/setenv\.add-environment = \(\n/, (m) => m + Object.entries(env).map(([k, v]) => `        "${k}" => "${v}",\n`).join(""));
  const log = join(path, "error.log");
  writeFileSync(join(path, "lighttpd.conf"), [
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
  const proc = start(bin, ["-D", "-f", join(path, "lighttpd.conf")]);
  const f = await front("lighttpd", proc, port, log);
  // A CGI script's stderr goes to lighttpd's own stderr, not to its error log.
  return { ...f, errorLog: () => f.errorLog() + proc.output() };
}

/** busybox httpd serves <home>/cgi-bin (the stage root is that home); its log is its output. */
async function startBusybox(bin: string, stage: Stage, env: ScriptEnv): Promise<Front> {
  const { port, path } = await serverDir(stage, "busybox");
  writeFileSync(join(path, "httpd.conf"), render("busybox-httpd.conf", { CGI_RUN: join(stage.bin, "cgi-run") }));
  const args = ["httpd", "-f", "-vv", "-p", `127.0.0.1:${port}`, "-h", stage.root, "-c", join(path, "httpd.conf")];
  if (IS_ROOT) args.push("-u", `${WEB_USER}:${WEB_USER}`);
  return front("busybox", start(bin, args, { env: { PATH: stage.path, TSGI_CACHE_DIR: stage.cache, ...env } }), port);
}
