/**
 * The master (gunicorn's arbiter) of `tsgi serve --workers N`: it forks the workers with
 * node:cluster and keeps N of them serving, and it never serves a request itself.
 *
 * Sockets: each listener is bound once, by this process (node:cluster binds it when the first
 * worker asks for it), and every worker accepts on that same socket: scheduling "none", so the
 * kernel hands each connection to one waiting worker and the master touches no connection (see
 * docs/cli.md § Process manager for the measurements behind this choice). A socket stays open
 * while any worker holds it, which is why every replacement (reload, --max-requests, TTOU) starts
 * the new worker first and stops the old one only once the new one serves: nothing is refused.
 *
 * Signals as gunicorn's: TERM/INT graceful stop, QUIT immediate stop, HUP graceful reload (a new
 * generation of workers loads the app anew; the old one stops once the new one serves, and
 * keeps serving if the new one cannot start), TTIN/TTOU one worker more/less.
 */
import cluster, { type Worker } from "node:cluster";
import { randomInt } from "node:crypto";
import type { ServeArgs } from "../cli/args.ts";
import { loadApp } from "../cli/loader.ts";
import { removeStaleSocket } from "../bind.ts";
import { announce, ServeError } from "../cli/serve.ts";
import { currentRuntime } from "../cli/serve-adapters.ts";
import { beatInterval, overdue, type Limits, type Watched } from "./heartbeat.ts";
import { Respawn } from "./respawn.ts";
import { unsupported } from "./support.ts";
import { ENV_BEAT_MS, ENV_MAX_REQUESTS, ENV_WORKER, isTagged, type MasterMessage, type WorkerMessage } from "./messages.ts";

const log = (line: string): void => void process.stderr.write(`tsgi: ${line}\n`);

interface Slot extends Watched {
  worker: Worker;
  pid: number;
  /** The generation it belongs to; a reload starts a new one. */
  gen: number;
  readyAt: number;
  requests: number;
  /** The line the worker sent before exiting, when it could not serve. */
  fatal?: string;
  /** Why the master kills it (timeout), so its exit is no crash; when it decided; when it sent SIGKILL. */
  killed?: string;
  killedAt?: number;
  sigkilled?: boolean;
  /** From its ready message: the app kind and the listeners' URLs. */
  kind?: string;
  urls?: string[];
}

/**
 * Run the master until it is told to stop; it exits the process itself. With --preload the app
 * is loaded here first, so that a broken app fails with the loader's one line before any fork
 * (and on Node the compiled app is cached for the workers).
 */
export async function runMaster(args: ServeArgs): Promise<void> {
  const refused = unsupported(currentRuntime());
  if (refused !== null) throw new ServeError(refused);
  if (args.manager.preload) await loadApp(args.app);
  // Workers share sockets that this process binds when the first one asks. A socket file that
  // a dead server left is removed here, once: workers that each checked would race, one taking
  // the socket another just bound for stale.
  for (const t of [...args.http, ...args.fastcgi, ...args.uwsgi]) if ("path" in t) await removeStaleSocket(t.path);
  new Master(args).start();
}

class Master {
  private readonly slots = new Map<Worker, Slot>();
  private target: number;
  private gen = 1;
  /** The generation a running reload replaces; 0 when no reload runs. */
  private reloadFrom = 0;
  private stopping: "graceful" | "now" | null = null;
  private exitCode = 0;
  private announced = false;
  private readonly respawn = new Respawn();
  private readonly limits: Limits;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly args: ServeArgs) {
    this.target = args.manager.workers ?? 1;
    const timeoutMs = (args.manager.workerTimeout ?? 0) * 1000;
    this.limits = { timeoutMs, bootMs: Math.max(60_000, timeoutMs), graceMs: args.gracefulTimeout * 1000 };
  }

  start(): void {
    // Node's own NODE_CLUSTER_SCHED_POLICY (rr | none) still wins when set.
    if (process.env.NODE_CLUSTER_SCHED_POLICY === undefined) cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.on("message", (w: Worker, m: unknown) => this.onMessage(w, m));
    cluster.on("exit", (w: Worker, code: number | null, signal: string | null) => this.onExit(w, code, signal));
    process.on("SIGTERM", () => this.shutdown("SIGTERM"));
    process.on("SIGINT", () => this.shutdown("SIGINT"));
    process.on("SIGQUIT", () => this.quit("SIGQUIT: immediate stop", 0));
    process.on("SIGHUP", () => this.reload());
    process.on("SIGTTIN", () => this.resize(+1));
    process.on("SIGTTOU", () => this.resize(-1));
    this.timer = setInterval(() => this.tick(), 100);
    this.manage();
  }

  private now(): number {
    return performance.now();
  }

  /** Converge on `target` ready workers of the current generation; retire the rest once they do. */
  private manage(): void {
    if (this.stopping) return;
    const now = this.now();
    const active = [...this.slots.values()].filter((s) => s.gen === this.gen && !s.killed && (s.state === "booting" || s.state === "ready"));
    const missing = this.target - active.length;
    if (missing > 0 && now >= this.respawn.nextAt) for (let i = 0; i < missing; i++) this.spawn();
    if (missing < 0) {
      // TTOU: stop the oldest (gunicorn does the same), booting ones last.
      const byAge = active.sort((a, b) => (a.state === b.state ? a.forkedAt - b.forkedAt : a.state === "ready" ? -1 : 1));
      for (const s of byAge.slice(0, -missing)) this.stop(s);
    }
    const ready = active.filter((s) => s.state === "ready");
    if (ready.length < this.target) return;
    for (const s of this.slots.values()) {
      if (s.state === "retiring" || (s.gen !== this.gen && s.state !== "stopping")) this.stop(s);
    }
    if (this.reloadFrom !== 0) {
      this.reloadFrom = 0;
      log(`reload done: ${this.target} new worker${this.target === 1 ? "" : "s"} serving; the old ones finish their requests`);
    }
    if (!this.announced) {
      this.announced = true;
      announce(this.args, ready[0].kind ?? "", ready[0].urls ?? []);
      log(`master ${process.pid}: ${this.target} worker${this.target === 1 ? "" : "s"} serving (pids ${ready.map((s) => s.pid).join(", ")})`);
    }
  }

  private spawn(): void {
    const env: Record<string, string> = { [ENV_WORKER]: "1" };
    const { maxRequests, maxRequestsJitter } = this.args.manager;
    if (maxRequests) env[ENV_MAX_REQUESTS] = String(maxRequests + randomInt(0, maxRequestsJitter + 1));
    if (this.limits.timeoutMs > 0) env[ENV_BEAT_MS] = String(beatInterval(this.limits.timeoutMs));
    const worker = cluster.fork(env);
    const now = this.now();
    this.slots.set(worker, { worker, pid: worker.process.pid ?? 0, gen: this.gen, state: "booting", forkedAt: now, lastBeat: now, stopAt: 0, readyAt: 0, requests: 0 });
  }

  /** Graceful: a serving worker finishes its in-flight requests; a booting one just ends. */
  private stop(s: Slot): void {
    if (s.state === "stopping") return;
    const booting = s.state === "booting";
    s.state = "stopping";
    s.stopAt = this.now();
    const signal = () => {
      try {
        s.worker.process.kill("SIGTERM");
      } catch { /* gone already */ }
    };
    if (booting || !s.worker.isConnected()) return signal();
    // A worker that exited on its own a moment ago (a SIGTERM sent to the whole process group,
    // as systemd does) may still look connected: the write fails later, as the worker's 'error'
    // event, which with no listener ended the master (Node: write EPIPE, Deno: BrokenPipe). The callback
    // takes the failure instead.
    try {
      s.worker.send({ t: "stop" } satisfies MasterMessage, (err: Error | null) => {
        if (err) signal();
      });
    } catch {
      signal();
    }
  }

  private onMessage(w: Worker, m: unknown): void {
    const s = this.slots.get(w);
    if (s === undefined || !isTagged(m)) return;
    const msg = m as WorkerMessage;
    switch (msg.t) {
      case "ready":
        if (s.state !== "booting") return;
        s.state = "ready";
        s.readyAt = s.lastBeat = this.now();
        s.kind = msg.kind;
        s.urls = msg.urls;
        log(`worker ${s.pid} booted`);
        break;
      case "beat":
        s.lastBeat = this.now();
        s.requests = msg.requests;
        return;
      case "recycle":
        if (s.state !== "ready") return;
        s.state = "retiring";
        log(`worker ${s.pid} served ${msg.requests} requests (--max-requests): starting its replacement, then stopping it gracefully`);
        break;
      case "fatal":
        s.fatal = msg.message;
        return;
    }
    this.manage();
  }

  private onExit(w: Worker, code: number | null, signal: string | null): void {
    const s = this.slots.get(w);
    if (s === undefined) return;
    this.slots.delete(w);
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (this.stopping || s.state === "stopping" || s.killed) {
      // After a fatal error, the error stays the last line.
      if (this.exitCode === 0) log(`worker ${s.pid} exited (${how})`);
    } else {
      this.crashed(s, s.fatal?.split("\n")[0] ?? `exit ${how}`);
    }
    if (this.stopping && this.slots.size === 0) this.exit();
    else this.manage();
  }

  /** A worker died on its own: replace it, back off if it died young, give up on a crash loop. */
  private crashed(s: Slot, reason: string): void {
    const now = this.now();
    const young = Respawn.young(s.state, s.readyAt, now);
    if (s.fatal !== undefined && !this.announced && this.reloadFrom === 0) {
      // The very first workers cannot serve (a bad app, an address in use): as the single process would.
      return this.quit(`error: ${reason}`, 1);
    }
    if (young && this.reloadFrom !== 0 && s.gen === this.gen) return this.abortReload(reason);
    if (!young) return void log(`worker ${s.pid} died (${reason}); starting another`);
    const delay = this.respawn.died(now);
    if (delay === null) {
      return this.quit(`error: workers keep dying at start-up (${this.respawn.count} in a row, the last: ${reason}); giving up`, 1);
    }
    log(`worker ${s.pid} died at start-up (${reason}); starting another in ${(delay / 1000).toFixed(1)} s`);
  }

  private reload(): void {
    if (this.stopping) return;
    if (this.reloadFrom !== 0) return void log("SIGHUP: a reload is already running; ignored");
    this.reloadFrom = this.gen;
    this.gen++;
    this.respawn.clear();
    log(`SIGHUP: reloading: starting ${this.target} new worker${this.target === 1 ? "" : "s"} (the app is loaded anew), then stopping the old ones gracefully`);
    this.manage();
  }

  /** A new worker of a reload could not start: keep the old generation, drop the new one. */
  private abortReload(reason: string): void {
    const failed = this.gen;
    this.gen = this.reloadFrom;
    this.reloadFrom = 0;
    log(`reload failed: a new worker could not start (${reason}); the old workers keep serving`);
    for (const s of this.slots.values()) if (s.gen === failed) this.stop(s);
  }

  private resize(by: 1 | -1): void {
    if (this.stopping) return;
    const sig = by > 0 ? "SIGTTIN" : "SIGTTOU";
    if (this.target + by < 1) return void log(`${sig}: already down to 1 worker`);
    this.target += by;
    log(`${sig}: ${this.target} worker${this.target === 1 ? "" : "s"}`);
    this.manage();
  }

  private tick(): void {
    const now = this.now();
    for (const s of this.slots.values()) {
      if (s.state === "ready" && !Respawn.young(s.state, s.readyAt, now)) this.respawn.settled();
      if (s.killed === undefined) {
        const why = overdue(s, now, this.limits);
        if (why === null) continue;
        s.killed = why;
        s.killedAt = now;
        log(`worker ${s.pid} ${why}: killing it with SIGKILL${this.holdsAlone(s) ? " once its replacement serves (it holds the sockets)" : ""}`);
      }
      // node:cluster closes a socket when its last worker lets go, refusing connections until a
      // new worker listens: a blocked worker that holds the sockets alone goes once its
      // replacement serves (it serves nobody meanwhile; connections wait in the backlog).
      if (!s.sigkilled && (!this.holdsAlone(s) || now - s.killedAt! > this.limits.bootMs)) {
        s.sigkilled = true;
        s.worker.process.kill("SIGKILL");
      }
    }
    this.manage();
  }

  /** True when `s` is the only worker listening (any other is booting, stopping or dead). */
  private holdsAlone(s: Slot): boolean {
    if (s.state !== "ready" && s.state !== "retiring") return false;
    for (const o of this.slots.values()) if (o !== s && o.killed === undefined && (o.state === "ready" || o.state === "retiring")) return false;
    return true;
  }

  private shutdown(sig: string): void {
    if (this.stopping) return this.quit(`${sig} again: killing the workers now`, 1);
    this.stopping = "graceful";
    log(`${sig}: graceful stop: no new connections; in-flight requests get up to ${this.args.gracefulTimeout} s, then exit`);
    for (const s of this.slots.values()) this.stop(s);
    if (this.slots.size === 0) this.exit();
  }

  /** Kill every worker now (SIGKILL), then exit with `code`. */
  private quit(line: string, code: number): void {
    log(line);
    this.stopping = "now";
    this.exitCode = code;
    for (const s of this.slots.values()) {
      s.sigkilled = true;
      s.worker.process.kill("SIGKILL");
    }
    if (this.slots.size === 0) this.exit();
    setTimeout(() => this.exit(), 5000).unref();
  }

  private exit(): void {
    clearInterval(this.timer);
    process.exit(this.exitCode);
  }
}
