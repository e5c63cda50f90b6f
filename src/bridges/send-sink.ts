/** A ResponseSink that speaks the async variant's `send` events (for sync apps run as async). */
import type { ResponseSink } from "../request.ts";
import type { Header, Send } from "../spec.ts";

const EMPTY = new Uint8Array(0);

export class SendSink implements ResponseSink {
  /** Why the response was aborted, if it was (the bridge rethrows it so the server aborts too). */
  aborted: { reason: unknown } | null = null;
  private chain: Promise<void> = Promise.resolve();
  private gone = false;
  private listeners: (() => void)[] = [];

  constructor(private readonly send: Send) {}

  get closed(): boolean {
    return this.gone;
  }

  onClose(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** The async variant carries no reason phrase: a custom one is lost (as in asgiref's bridge). */
  start(status: number, _reason: string, headers: Header[]): void {
    this.push(() => this.send({ type: "http.response.start", status, headers }));
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.push(() => this.send({ type: "http.response.body", body: chunk, more_body: true }));
  }

  end(): void {
    this.push(() => this.send({ type: "http.response.body", body: EMPTY, more_body: false }));
  }

  abort(reason: unknown): void {
    this.aborted ??= { reason };
  }

  /** Resolves when every event went out (or the peer left). */
  flushed(): Promise<void> {
    return this.chain;
  }

  private push(event: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(() => (this.gone ? undefined : event()))
      .catch(() => {
        // A send that fails means the client left (ASGI 2.4: send on a closed connection raises).
        if (this.gone) return;
        this.gone = true;
        for (const l of this.listeners.splice(0)) l();
      });
    return this.chain;
  }
}
