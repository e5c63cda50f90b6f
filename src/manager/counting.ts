/**
 * Counting the requests a worker serves, for --max-requests. The app itself is wrapped (every
 * request reaches the app exactly once, whatever carries it: node:http, the Hono carrier,
 * Bun.serve, FastCGI, uwsgi), keeping its kind with the `tsgi` marker, so the Gateway and the
 * adapters stay untouched. Only a worker with a request budget pays for the extra call.
 */
import { appKind } from "../kind.ts";
import type { App, AsyncApp, Environ, FetchObject, StartResponse, SyncApp } from "../spec.ts";

/** `app`, calling `onRequest()` before each request it serves. */
export function countingApp(app: App, onRequest: () => void): App {
  const kind = appKind(app);
  if (kind === "sync") {
    const inner = app as SyncApp;
    return Object.assign((environ: Environ, startResponse: StartResponse) => {
      onRequest();
      return inner(environ, startResponse);
    }, { tsgi: "sync" as const }) as App;
  }
  if (kind === "async") {
    const inner = app as AsyncApp;
    return Object.assign((scope: Parameters<AsyncApp>[0], receive: Parameters<AsyncApp>[1], send: Parameters<AsyncApp>[2]) => {
      onRequest();
      return inner(scope, receive, send);
    }, { tsgi: "async" as const }) as App;
  }
  if (typeof app === "object") {
    const obj = app as FetchObject;
    // A fetch object (a Hono app) keeps its other properties; only fetch counts.
    return Object.assign(Object.create(obj) as FetchObject, {
      fetch(request: Request, env?: never, ctx?: never) {
        onRequest();
        return obj.fetch(request, env as never, ctx as never); // as a method: Hono's fetch may use `this`
      },
    }) as App;
  }
  const fn = app as (request: Request, env?: unknown, ctx?: unknown) => unknown;
  return Object.assign((request: Request, env?: unknown, ctx?: unknown) => {
    onRequest();
    return fn(request, env, ctx);
  }, { tsgi: "fetch" as const }) as App;
}
