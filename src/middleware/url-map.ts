/**
 * Mount apps at path prefixes (Plack::App::URLMap, Rack::URLMap). The longest matching prefix
 * wins; the matched part moves from PATH_INFO to SCRIPT_NAME, so the mounted app sees paths
 * relative to its mount and can still build absolute URLs. Prefixes are path-to-regexp patterns
 * (`/users/:id`), matched against the decoded PATH_INFO at segment boundaries: `/api` matches
 * `/api` and `/api/x`, never `/apix`. Parameters go to `req.state.params`.
 */
import { match, type MatchFunction } from "path-to-regexp";
import { normalizeMount } from "../environ.ts";
import type { App, AsyncApp } from "../spec.ts";
import { toApp } from "./compose.ts";
import { appHandler, type HandlerOptions } from "./handler.ts";
import type { Handler, Middleware, Req, Res } from "./types.ts";

interface Mount {
  prefix: string;
  matcher: MatchFunction<Record<string, string | string[]>> | null;
  handler: Handler;
}

function compile(prefix: string, handler: Handler): Mount {
  const p = normalizeMount(prefix);
  return { prefix: p, matcher: p === "" ? null : match(p, { end: false, decode: false }), handler };
}

/** Dispatch `req` to the mount it falls under, with SCRIPT_NAME/PATH_INFO moved; null if none. */
function dispatch(mounts: readonly Mount[], req: Req): Promise<Res> | null {
  const info = req.env.PATH_INFO;
  for (const m of mounts) {
    let matched = "";
    let params: Record<string, string | string[]> | undefined;
    if (m.matcher !== null) {
      const r = m.matcher(info);
      if (r === false) continue;
      matched = r.path.endsWith("/") ? r.path.slice(0, -1) : r.path;
      params = r.params;
    }
    const env = { ...req.env, SCRIPT_NAME: req.env.SCRIPT_NAME + matched, PATH_INFO: info.slice(matched.length) };
    const state = params === undefined ? req.state : { ...req.state, params: { ...(req.state.params as object | undefined), ...params } };
    return m.handler({ ...req, env, state });
  }
  return null;
}

function mountsOf(map: Record<string, App> | [string, App][], options: HandlerOptions): Mount[] {
  const entries = Array.isArray(map) ? map : Object.entries(map);
  const mounts = entries.map(([prefix, app]) => compile(prefix, appHandler(app, { fetchPath: "pathInfo", ...options })));
  // Longest prefix first, so `/api/v2` wins over `/api`; the root mount goes last.
  return mounts.sort((a, b) => b.prefix.length - a.prefix.length);
}

function notFound(): Res {
  return { status: 404, headers: [["content-type", "text/plain; charset=utf-8"]], body: ["Not Found\n"] };
}

/** A router app over mounted apps; requests under no mount get 404. */
export function urlMap(map: Record<string, App> | [string, App][], options: HandlerOptions = {}): AsyncApp {
  const mounts = mountsOf(map, options);
  return toApp(async (req) => dispatch(mounts, req) ?? notFound());
}

/** Middleware form: requests under `prefix` go to `app`, the rest to the next layer. */
export function mount(prefix: string, app: App, options: HandlerOptions = {}): Middleware {
  const mounts = mountsOf([[prefix, app]], options);
  return (req, next) => dispatch(mounts, req) ?? next(req);
}
