/**
 * A tsgi app (sync, async or fetch-style) as a Hono handler, so it runs wherever Hono runs:
 *
 *     hono.all("/legacy/*", tsgi(legacyApp))   // SCRIPT_NAME "/legacy", PATH_INFO the rest
 *
 * The mount point comes from the route (`/legacy/*` → `/legacy`) or from `options.mount`.
 * The request goes through the core like any server's (a Gateway with a sink producing the
 * Response), so the app sees exactly what it would see under tsgi serve.
 */
import type { Context } from "hono";
import { routePath } from "hono/route";
import { Gateway, Lifespan, normalizeMount, type App, type BodySource, type GatewayOptions } from "../../src/index.ts";
import { bodyOf, headOf } from "../web/request.ts";
import { FetchSink } from "../../src/bridges/to-fetch.ts";
import { endpointsOf } from "./conninfo.ts";

export interface TsgiHandlerOptions extends GatewayOptions {
  /**
   * The app's SCRIPT_NAME. Default: the route's static prefix before a trailing `*`
   * (`/legacy/*` → `/legacy`, `*` → root); give it for routes with parameters.
   */
  mount?: string;
}

/** A Hono handler running `app`. An async app's lifespan startup runs before its first request. */
export function tsgi(app: App, options: TsgiHandlerOptions = {}): (c: Context) => Promise<Response> {
  const gateways = new Map<string, Gateway>();
  let started: Promise<Lifespan> | null = null;
  const fixed = options.mount === undefined ? undefined : normalizeMount(options.mount);

  return async (c) => {
    const lifespan = await (started ??= startLifespan(app, options));
    const mount = fixed ?? mountOf(routePath(c));
    let gateway = gateways.get(mount);
    if (gateway === undefined) {
      gateway = new Gateway(app, { ...options, mount, state: lifespan.state });
      gateways.set(mount, gateway);
    }
    const request = c.req.raw;
    const sink = new FetchSink(request.method === "HEAD");
    const scheme = request.url.startsWith("https:") ? "https" : "http";
    const done = gateway.handleHttp(headOf(request, endpointsOf(c), scheme), await bodyFor(c), sink);
    if (sink.complete) return sink.response!;
    request.signal.addEventListener("abort", () => sink.disconnect(), { once: true });
    const g = gateway;
    done.catch((err) => {
      g.log(`${request.method} ${request.url}: internal error: ${err instanceof Error ? err.stack : String(err)}`);
      sink.abort(err);
    });
    return sink.ready();
  };
}

async function startLifespan(app: App, options: GatewayOptions): Promise<Lifespan> {
  const lifespan = new Lifespan(app, options.log);
  await lifespan.startup();
  return lifespan;
}

const mounts = new Map<string, string>();
/** `/legacy/*` → `/legacy`; `/*`, `*` → root. A route with parameters has no fixed mount: root. */
export function mountOf(route: string): string {
  let m = mounts.get(route);
  if (m !== undefined) return m;
  let prefix = route.endsWith("*") ? route.slice(0, -1) : route;
  if (/[:*{(]/.test(prefix)) prefix = "";
  m = normalizeMount(prefix);
  if (mounts.size < 256) mounts.set(route, m);
  return m;
}

/**
 * The request body. A Hono middleware that already read it (c.req.json(), a validator) leaves
 * the raw stream used; Hono keeps a cached copy, which is handed on as one chunk.
 */
async function bodyFor(c: Context): Promise<BodySource> {
  const request = c.req.raw;
  if (!request.bodyUsed) return bodyOf(request);
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  return bytes.length === 0 ? null : [bytes].values() as unknown as AsyncIterable<Uint8Array>;
}
