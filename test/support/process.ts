/**
 * Test helpers for starting real processes (servers, peers) and always stopping them by PID.
 * Every test that starts something registers it here; `stopAll()` runs in an `after` hook.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from "node:child_process";
import { createServer, connect } from "node:net";
import { existsSync } from "node:fs";

/** Tests run under CI=true must fail, not skip, when a required peer is missing. */
export const IN_CI = process.env.CI === "true" || process.env.CI === "1";

/** Absolute path of a Debian binary, or null. Checks PATH and the sbin dirs. */
export function which(bin: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/sbin", "/usr/bin"])) {
    const p = `${dir}/${bin}`;
    if (dir && existsSync(p)) return p;
  }
  return null;
}

/**
 * Find a peer binary. Returns its path; when it is missing, returns null for local runs (the
 * test should skip with the reason) and throws under CI, where a missing peer is a failure.
 */
export function requirePeer(bin: string, debianPackage: string): string | null {
  const p = which(bin);
  if (p) return p;
  const msg = `${bin} not found: install the Debian package ${debianPackage} (apt-get install ${debianPackage})`;
  if (IN_CI) throw new Error(msg);
  return null;
}

/** A free TCP port on 127.0.0.1 (bound and released; good enough for tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Wait until something accepts connections on host:port or a unix socket path. */
export async function waitForPort(target: { port: number; host?: string } | { path: string }, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = "path" in target ? connect(target.path) : connect(target.port, target.host ?? "127.0.0.1");
      sock.once("connect", () => {
        sock.destroy();
        resolve(true);
      });
      sock.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${JSON.stringify(target)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const started = new Set<ChildProcess>();

export interface Started {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawn a long-running process in its own process group, remembered for stopAll(). */
export function start(cmd: string, args: string[], opts: SpawnOptions = {}): Started {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], detached: true, ...opts });
  started.add(child);
  let out = "";
  child.stdout?.on("data", (d) => (out += d));
  child.stderr?.on("data", (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    output: () => out,
    async stop(signal = "SIGTERM") {
      started.delete(child);
      if (child.exitCode !== null || child.signalCode !== null) return;
      killGroup(child, signal);
      const t = setTimeout(() => killGroup(child, "SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal); // the whole group: servers that fork workers leave none behind
  } catch {
    try {
      child.kill(signal);
    } catch { /* already gone */ }
  }
}

/** Stop everything start() started (call from an `after` hook). */
export async function stopAll(): Promise<void> {
  await Promise.all([...started].map(async (child) => {
    started.delete(child);
    if (child.exitCode === null && child.signalCode === null) {
      killGroup(child, "SIGTERM");
      await new Promise<void>((r) => {
        const t = setTimeout(() => {
          killGroup(child, "SIGKILL");
          r();
        }, 5000);
        child.once("exit", () => {
          clearTimeout(t);
          r();
        });
      });
    }
  }));
}

/** Kill a daemon that wrote its PID to a file (nginx, apache2, lighttpd, php-fpm). */
export function killPidFile(pidFile: string, signal: NodeJS.Signals = "SIGTERM"): void {
  const r = spawnSync("sh", ["-c", `test -f '${pidFile}' && kill -${signal.replace("SIG", "")} $(cat '${pidFile}')`]);
  void r;
}

process.once("exit", () => {
  for (const child of started) killGroup(child, "SIGKILL");
});
