/**
 * `lint(app)`: an app of the same kind that checks the server's side (environ, scope, request
 * events) and the app's side (status, headers, body, events, close()) against SPEC.md, and fails
 * loudly: every violation is a `SpecError` whose `rule` is the SPEC.md §15 id, so the server
 * answers 500 (or aborts) and logs the rule. wsgiref.validate, Rack::Lint and
 * Plack::Middleware::Lint are the models.
 *
 * Put it next to the app to check the app (`lint(app)`), or outermost to check a server and the
 * middleware in between (`lint(compose(app, ...))`). It wraps the app's own protocol, not the
 * neutral middleware shape, because that is where the rules live. For development and tests.
 */
import { appKind } from "../../kind.ts";
import type { App, AsyncApp, FetchHandler, FetchObject, SyncApp } from "../../spec.ts";
import { lintAsync } from "./async.ts";
import { lintFetch } from "./fetch.ts";
import { lintSync } from "./sync.ts";

export function lint(app: SyncApp): SyncApp;
export function lint(app: AsyncApp): AsyncApp;
export function lint(app: FetchHandler | FetchObject): FetchHandler;
export function lint(app: App): App;
export function lint(app: App): App {
  const kind = appKind(app);
  if (kind === "sync") return lintSync(app as SyncApp);
  if (kind === "async") return lintAsync(app as AsyncApp);
  return lintFetch(app as FetchHandler | FetchObject);
}

export { lintSync, lintAsync, lintFetch };
export { checkEnviron, checkScope } from "./environ.ts";
