/**
 * One FastCGI request from BEGIN_REQUEST to END_REQUEST: its PARAMS byte stream, its STDIN
 * body, its response sink, and the hand-over to the core.
 */
import type { BodySource, CgiParams, Gateway, Log } from "../../src/index.ts";
import { StdinBody, type Flow } from "./body.ts";
import { AUTHORIZER, decodeParams } from "./codec.ts";
import { FastCgiSink, type SinkOwner, type Wire } from "./sink.ts";

/** Listener-wide settings and counters every connection shares. */
export interface Context {
  gateway: Gateway;
  log: Log;
  /** Requests in progress on the whole listener (BEGIN accepted, handler not settled). */
  active: number;
  maxConns: number;
  maxReqs: number;
  multiplex: boolean;
  maxParamsSize: number;
  readTimeout: number;
}

export class Exchange {
  readonly body: StdinBody;
  readonly sink: FastCgiSink;
  /**
   * PARAMS bytes so far: `paramBuf[paramStart..paramStart+paramBytes)`. The stream is decoded
   * whole at its end, since pairs may straddle records. A stream that comes as one record (the
   * usual case) is kept where it arrived, in the socket's chunk; only a second record makes a copy.
   */
  private paramBuf: Uint8Array | null = null;
  private paramStart = 0;
  private paramOwned = false;
  paramBytes = 0;
  paramsDone = false;
  params: CgiParams | null = null;
  started = false;
  /** The connection is done with this id (END_REQUEST sent, or the peer went away). */
  done = false;
  private released = false;

  constructor(
    readonly id: number,
    readonly role: number,
    readonly keepConn: boolean,
    private readonly ctx: Context,
    flow: Flow,
    wire: Wire,
    owner: SinkOwner,
  ) {
    this.body = new StdinBody(flow);
    this.sink = new FastCgiSink(id, wire, owner);
    // The Authorizer role gets no STDIN at all from Apache's mod_authnz_fcgi (protocols.md §1.10).
    if (role === AUTHORIZER) this.body.end();
  }

  /** Add PARAMS content `chunk[start..end)`. Returns false once the stream is over the configured limit. */
  addParams(chunk: Uint8Array, start: number, end: number): boolean {
    const have = this.paramBytes;
    const need = have + end - start;
    if (need > this.ctx.maxParamsSize) return false;
    let buf = this.paramBuf;
    if (buf === null) {
      this.paramBuf = chunk;
      this.paramStart = start;
      this.paramBytes = need;
      return true;
    }
    if (!this.paramOwned || buf.length < need) {
      const bigger = new Uint8Array(Math.max(need, 1024, this.paramOwned ? buf.length * 2 : 0));
      bigger.set(buf.subarray(this.paramStart, this.paramStart + have));
      buf = this.paramBuf = bigger;
      this.paramStart = 0;
      this.paramOwned = true;
    }
    buf.set(end - start === chunk.length ? chunk : chunk.subarray(start, end), have);
    this.paramBytes = need;
    return true;
  }

  /** Decode the finished PARAMS stream (throws PairsError when it is malformed). */
  decodeParams(): void {
    this.paramsDone = true;
    const buf = this.paramBuf;
    const params = buf === null ? {} : decodeParams(buf, this.paramStart, this.paramStart + this.paramBytes);
    this.paramBuf = null;
    if (this.role === AUTHORIZER) params.FCGI_ROLE ??= "AUTHORIZER";
    this.params = params;
  }

  /** Hand the request to the core. */
  start(): void {
    this.started = true;
    const params = this.params!;
    // STDIN is already de-chunked: a Transfer-Encoding the front server passes on is stale.
    if (params.HTTP_TRANSFER_ENCODING !== undefined) delete params.HTTP_TRANSFER_ENCODING;
    // HAProxy sends SERVER_NAME as the Host header, port included.
    const name = params.SERVER_NAME;
    if (name !== undefined && name.charCodeAt(name.length - 1) !== 93) {
      const colon = name.lastIndexOf(":");
      if (colon > 0 && name.indexOf(":") === colon) params.SERVER_NAME = name.slice(0, colon);
    }
    let body: BodySource = this.body;
    if (this.body.ended) {
      // The whole body is here: its real length wins over a CONTENT_LENGTH that is empty
      // (nginx with a chunked upload) or stale.
      const total = this.body.received;
      const cl = params.CONTENT_LENGTH;
      if (cl === undefined || cl === "") {
        if (total > 0) params.CONTENT_LENGTH = String(total);
      } else if (cl !== String(total) && /^\d+$/.test(cl)) {
        this.ctx.log(`fastcgi request ${this.id}: CONTENT_LENGTH says ${cl} but STDIN carried ${total} bytes; the app gets the ${total} bytes`);
        params.CONTENT_LENGTH = String(total);
      }
      if (total === 0) body = null;
    }
    this.ctx.gateway.handleParams(params, body, this.sink).then(() => this.settle(), (err) => this.settle(err));
  }

  private settle(err?: unknown): void {
    if (err !== undefined) this.ctx.log(`fastcgi request ${this.id}: internal error: ${err instanceof Error ? err.stack : String(err)}`);
    if (!this.sink.finished && !this.sink.closed) {
      // The core always ends or aborts; if it did not, cut the response rather than hang the peer.
      this.sink.abort(new Error("the response was never completed"));
    }
    if (!this.body.ended) this.body.discard();
    this.release();
  }

  /** Give back the request's slot in the listener's concurrency limit (once). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.ctx.active--;
  }
}
