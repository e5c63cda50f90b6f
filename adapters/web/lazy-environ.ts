/**
 * The environ a fetch app gets as its second argument on Bun.serve and Deno.serve, built on
 * first touch. Most fetch apps (a Hono app without `c.env`) never read it, and building it
 * eagerly is most of what tsgi adds to such a request: the peer address (`server.requestIP`
 * was ~15% of Bun's JS thread in a hello-world profile), a copy of the headers, and the
 * CGI keys. A Proxy over an empty object fills that object from the real environ on the first
 * trap, then forwards every operation to it, so reads, `in`, enumeration, spreading and writes
 * behave as on a plain object (the Proxy invariants hold because the target is that object).
 *
 * The peer address is asked for when the environ is first touched; Bun answers `requestIP` only
 * while the request is live, so an environ first read after the response went out may lack
 * REMOTE_ADDR/REMOTE_PORT.
 */
import { environFromHttp, MemoryInput, type Environ, type Gateway, type HttpHead } from "../../src/index.ts";

/** Builds the request's HttpHead when the environ is first needed (one per listener). */
export interface HeadMaker<P> {
  head(request: Request, peer: P): HttpHead;
}

const EMPTY_INPUT = new MemoryInput(new Uint8Array(0));

class Filler<P> implements ProxyHandler<Record<string, unknown>> {
  private filled = false;

  constructor(
    private readonly gateway: Gateway,
    private readonly request: Request,
    private readonly maker: HeadMaker<P>,
    private readonly peer: P,
  ) {}

  private fill(target: Record<string, unknown>): void {
    if (this.filled) return;
    this.filled = true;
    const head = this.maker.head(this.request, this.peer);
    const env = this.gateway.environ(environFromHttp(head, { mount: this.gateway.mount }), EMPTY_INPUT);
    Object.assign(target, env);
  }

  get(target: Record<string, unknown>, key: string | symbol, receiver: unknown): unknown {
    this.fill(target);
    return Reflect.get(target, key, receiver);
  }
  has(target: Record<string, unknown>, key: string | symbol): boolean {
    this.fill(target);
    return Reflect.has(target, key);
  }
  ownKeys(target: Record<string, unknown>): (string | symbol)[] {
    this.fill(target);
    return Reflect.ownKeys(target);
  }
  getOwnPropertyDescriptor(target: Record<string, unknown>, key: string | symbol): PropertyDescriptor | undefined {
    this.fill(target);
    return Reflect.getOwnPropertyDescriptor(target, key);
  }
  set(target: Record<string, unknown>, key: string | symbol, value: unknown, receiver: unknown): boolean {
    this.fill(target);
    return Reflect.set(target, key, value, receiver);
  }
  defineProperty(target: Record<string, unknown>, key: string | symbol, desc: PropertyDescriptor): boolean {
    this.fill(target);
    return Reflect.defineProperty(target, key, desc);
  }
  deleteProperty(target: Record<string, unknown>, key: string | symbol): boolean {
    this.fill(target);
    return Reflect.deleteProperty(target, key);
  }
}

/** The environ of `request`, computed from `maker.head(request, peer)` on first use. */
export function lazyEnviron<P>(gateway: Gateway, request: Request, maker: HeadMaker<P>, peer: P): Environ {
  return new Proxy({}, new Filler(gateway, request, maker, peer)) as unknown as Environ;
}
