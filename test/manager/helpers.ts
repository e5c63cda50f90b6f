/**
 * Helpers for the process-manager tests: fixture apps in a temp folder, `tsgi serve --workers`
 * started through tsgiCommand (so the runtime matrix can rerun these files), one-connection
 * requests, waiting for a log line, and the process-group check that nothing is left behind.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTsgi, type TsgiServer } from "../battery/serve.ts";
import { runtime } from "../support/runtime.ts";

/** The manager refuses to run on Bun (src/manager/master.ts unsupported()); runtime.test.ts checks how. */
export const BUN_SKIP = runtime() === "bun" ? "Bun's node:cluster cannot share a listening socket: tsgi refuses --workers there" : undefined;

export const dir = mkdtempSync(join(tmpdir(), "tsgi-manager-"));
// Every test file that imports this gets its own folder; it goes when the file's process ends.
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

/** Environment for tsgi: without NODE_EXTRA_CA_CERTS, which slows every node start (~55 ms). */
export function env(): NodeJS.ProcessEnv {
  const e = { ...process.env };
  delete e.NODE_EXTRA_CA_CERTS;
  return e;
}

/**
 * A fetch app: `/` answers its pid; `/slow` after 800 ms; `/block` blocks the event loop for
 * good; `/crash` exits the worker with status 3.
 */
export const PID_APP = fixture("pid.mjs", `
export default async function app(request) {
  const path = new URL(request.url).pathname;
  if (path === "/slow") await new Promise((r) => setTimeout(r, 800));
  if (path === "/block") for (;;) {}
  if (path === "/crash") process.exit(3);
  return new Response(String(process.pid));
}
`);

/** A sync app answering "VERSION PID" (reload tests rewrite VERSION). */
export function versionApp(name: string, version: string): string {
  return fixture(name, `
export default function app(environ, startResponse) {
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  return ["${version} " + process.pid];
}
`);
}

export function fixture(name: string, source: string): string {
  const path = join(dir, name);
  writeFileSync(path, source);
  return path;
}

export interface Managed extends TsgiServer {
  port: number;
  pid: number;
  /** Resolves with the master's exit code. */
  exited: Promise<number | null>;
}

/** `tsgi serve APP --http 127.0.0.1:0 ARGS`, waiting for its startup line. */
export async function startManaged(app: string, args: string[]): Promise<Managed> {
  const s = await startTsgi([app, "--http", "127.0.0.1:0", ...args], 1, { env: env() });
  await waitFor(s, /workers? serving \(pids/); // stderr: may come after stdout's startup line
  const port = Number(/:(\d+)$/.exec(s.urls[0])![1]);
  const exited = new Promise<number | null>((r) => {
    if (s.proc.child.exitCode !== null) r(s.proc.child.exitCode);
    s.proc.child.once("exit", (code) => r(code));
  });
  return { ...s, port, pid: s.proc.child.pid!, exited };
}

/** One GET on a connection of its own (so that connections spread over the workers). */
export function get(port: number, path = "/", timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${path}: no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/** Wait until the output matches `re` (searching from `from`); returns the match. */
export async function waitFor(s: TsgiServer, re: RegExp, timeoutMs = 10_000, from = 0): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = s.proc.output().slice(from).match(re);
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`no ${re} within ${timeoutMs} ms; output:\n${s.proc.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The worker pids the master listed when it started serving. */
export function workerPids(s: TsgiServer): number[] {
  const m = /workers? serving \(pids ([\d, ]+)\)/.exec(s.proc.output());
  return m ? m[1].split(", ").map(Number) : [];
}

/** Pids still alive in process group `pgid` (tsgi's master leads its own group in these tests). */
export function groupPids(pgid: number): number[] {
  const r = spawnSync("pgrep", ["-g", String(pgid)], { encoding: "utf8" });
  return r.stdout.split("\n").filter(Boolean).map(Number);
}

/** Wait (bounded) until nothing is left in the group. */
export async function groupEmpty(pgid: number, timeoutMs = 5000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = groupPids(pgid);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
