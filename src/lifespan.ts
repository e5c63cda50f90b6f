/**
 * The lifespan protocol (ASGI lifespan 2.0) for async apps: startup before the first request,
 * shutdown after the last. Sync and fetch apps have no lifespan; for them this is a no-op.
 */
import { SpecError } from "./headers.ts";
import { appKind } from "./kind.ts";
import type { App, AsyncApp, LifespanResultEvent, ReceiveEvent, SendEvent } from "./spec.ts";

export class LifespanError extends Error {
  constructor(phase: "startup" | "shutdown", message?: string) {
    super(`lifespan ${phase} failed${message ? ": " + message : ""}`);
    this.name = "LifespanError";
  }
}

export class Lifespan {
  /** Filled by the app during startup; servers copy it into each request scope. */
  readonly state: Record<string, unknown> = {};
  private supported = false;
  private inbox: ((e: ReceiveEvent) => void) | null = null;
  private pending: ReceiveEvent[] = [];
  private reply: ((e: LifespanResultEvent) => void) | null = null;
  private done: Promise<void> | null = null;

  constructor(private readonly app: App, private readonly log: (line: string) => void = () => {}) {}

  /**
   * Run startup. Resolves when the app answers `lifespan.startup.complete` (or does not speak
   * lifespan at all: an app that raises on the lifespan scope before answering is served
   * without it); rejects with LifespanError on `lifespan.startup.failed`.
   */
  async startup(): Promise<void> {
    if (appKind(this.app) !== "async") return;
    const answered = new Promise<LifespanResultEvent | null>((resolve) => {
      this.reply = resolve;
      this.done = (async () => {
        try {
          await (this.app as AsyncApp)({ type: "lifespan", tsgi: { version: "1.0", spec_version: "1.0" }, state: this.state }, () => this.receive(), (e) => this.send(e));
          resolve(null);
        } catch (err) {
          if (!this.supported) this.log(`the app does not handle the lifespan scope (${err instanceof Error ? err.message : String(err)}); serving without lifespan`);
          else this.log(`lifespan raised: ${err instanceof Error ? err.stack : String(err)}`);
          resolve(null);
        }
      })();
    });
    this.push({ type: "lifespan.startup" });
    const result = await answered;
    if (result === null) return;
    if (result.type === "lifespan.startup.failed") throw new LifespanError("startup", result.message);
  }

  /** Run shutdown; resolves when the app answers (or at once when it has no lifespan). */
  async shutdown(): Promise<void> {
    if (!this.supported) return;
    const answered = new Promise<LifespanResultEvent | null>((resolve) => {
      this.reply = resolve;
      void this.done?.then(() => resolve(null));
    });
    this.push({ type: "lifespan.shutdown" });
    const result = await answered;
    if (result?.type === "lifespan.shutdown.failed") throw new LifespanError("shutdown", result.message);
  }

  private push(e: ReceiveEvent): void {
    if (this.inbox) {
      const f = this.inbox;
      this.inbox = null;
      f(e);
    } else this.pending.push(e);
  }

  private receive(): Promise<ReceiveEvent> {
    const e = this.pending.shift();
    if (e) return Promise.resolve(e);
    return new Promise((resolve) => (this.inbox = resolve));
  }

  private async send(e: SendEvent): Promise<void> {
    if (e === null || typeof e !== "object" || typeof e.type !== "string" || !e.type.startsWith("lifespan.")) {
      throw new SpecError("lifespan-event", `only lifespan.* events may be sent on a lifespan scope, got ${JSON.stringify((e as { type?: unknown } | null)?.type)}`);
    }
    this.supported = true;
    const r = this.reply;
    this.reply = null;
    r?.(e as LifespanResultEvent);
  }
}
