/** Run `cgi-run` the way a web server does: a clean environment, stdin, stdout and stderr pipes. */
import { spawn } from "node:child_process";
import { entryCommand } from "../support/runtime.ts";
import { cgiRunCommand } from "./stage.ts";

export interface CgiResult {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

export interface CgiRun {
  /** CGI meta-variables and anything else; PATH is added when absent. */
  env?: Record<string, string>;
  stdin?: Buffer | string;
  /** Keep stdin open (not ended) after writing it. */
  holdStdin?: boolean;
  uid?: number;
  gid?: number;
  /** Read stdout this slowly: pause `ms` after every chunk (a slow web server). */
  slowReadMs?: number;
  timeoutMs?: number;
}

/** A GET's meta-variables as Apache would set them for /cgi-bin/NAME + pathInfo. */
export function cgiEnv(name: string, pathInfo = "", extra: Record<string, string> = {}): Record<string, string> {
  return {
    GATEWAY_INTERFACE: "CGI/1.1",
    SERVER_PROTOCOL: "HTTP/1.1",
    REQUEST_METHOD: "GET",
    SCRIPT_NAME: `/cgi-bin/${name}`,
    ...(pathInfo ? { PATH_INFO: pathInfo } : {}),
    QUERY_STRING: "",
    SERVER_NAME: "127.0.0.1",
    SERVER_PORT: "80",
    REMOTE_ADDR: "127.0.0.1",
    REQUEST_URI: `/cgi-bin/${name}${pathInfo}`,
    ...extra,
  };
}

/** Run `cgi-run file` once (under Bun through its front, adapters/cgi/cgi-run-bun.js; `ts`: src/cli/cgi-run.ts itself). */
export function runCgiRun(file: string, opts: CgiRun & { ts?: boolean } = {}): Promise<CgiResult> {
  const [cmd, args] = opts.ts ? entryCommand("cgi-run", [file]) : cgiRunCommand([file]);
  return runProcess(cmd, args, opts);
}

export function runProcess(cmd: string, args: string[], opts: CgiRun = {}): Promise<CgiResult> {
  const env = { PATH: "/usr/local/bin:/usr/bin:/bin", ...opts.env };
  const child = spawn(cmd, args, { env, stdio: ["pipe", "pipe", "pipe"], uid: opts.uid, gid: opts.gid });
  const out: Buffer[] = [];
  let err = "";
  child.stdout.on("data", (d: Buffer) => {
    out.push(d);
    if (opts.slowReadMs) {
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), opts.slowReadMs);
    }
  });
  child.stderr.on("data", (d) => (err += d));
  child.stdin.on("error", () => {}); // the script may exit without reading its body (EPIPE)
  if (opts.stdin !== undefined) child.stdin.write(opts.stdin);
  if (!opts.holdStdin) child.stdin.end();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} ${args.join(" ")} did not exit within ${opts.timeoutMs ?? 30000} ms; stderr: ${err}`));
    }, opts.timeoutMs ?? 30000);
    child.once("error", reject);
    child.once("close", (status) => {
      clearTimeout(t);
      if (opts.holdStdin) child.stdin.destroy();
      resolve({ status, stdout: Buffer.concat(out), stderr: err });
    });
  });
}

/** Split a CGI response into its header block (as text) and body. */
export function splitResponse(out: Buffer): { head: string; body: Buffer } {
  const end = out.indexOf("\r\n\r\n");
  if (end < 0) return { head: out.toString("latin1"), body: Buffer.alloc(0) };
  return { head: out.subarray(0, end + 2).toString("latin1"), body: out.subarray(end + 4) };
}
