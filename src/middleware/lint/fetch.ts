/** lint for fetch-style apps: the Request the server built, and the app's Response. */
import { SpecError } from "../../headers.ts";
import { fetchApp } from "../../kind.ts";
import type { FetchHandler, FetchObject } from "../../spec.ts";

export function lintFetch(app: FetchHandler | FetchObject): (request: Request, ...rest: never[]) => Promise<Response> {
  const call = typeof app === "function" ? app : app.fetch.bind(app);
  return fetchApp(async (request: Request, ...rest: never[]): Promise<Response> => {
    if (!(request instanceof Request)) throw new SpecError("fetch-response", "server: a fetch app must be called with a Request");
    if (!/^https?:\/\//.test(request.url)) throw new SpecError("scope-keys", `server: request URL ${request.url} is not absolute http(s)`);
    const response = await call(request, ...rest);
    if (!(response instanceof Response)) {
      throw new SpecError("fetch-response", `app: a fetch handler must return a Response, got ${response === null ? "null" : typeof response}`);
    }
    return response;
  });
}
