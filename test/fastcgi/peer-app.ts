/**
 * Apps for the FastCGI peer tests (beyond the battery's reference app).
 *   default     async: `/early` answers 202 without reading the body; anything else answers
 *               {env, bodyLength} as JSON (env = the CGI keys the app got)
 *   authorizer  sync, for the AUTHORIZER role (mod_authnz_fcgi): 200 when REMOTE_PASSWD is
 *               "secret" (with a Variable-TSGI_USER header), else 401
 */
import type { AsyncApp, Environ, StartResponse } from "../../src/index.ts";

const app: AsyncApp = async (scope, receive, send) => {
  if (scope.type !== "http") return;
  if (scope.path.endsWith("/early")) {
    await send({ type: "http.response.start", status: 202, headers: [["content-type", "text/plain"]] });
    await send({ type: "http.response.body", body: "early\n" });
    return;
  }
  let n = 0;
  for (;;) {
    const ev = await receive();
    if (ev.type !== "http.request") break;
    n += ev.body.length;
    if (!ev.more_body) break;
  }
  const env: Record<string, string> = {};
  const environ = scope.extensions.environ;
  for (const k in environ) env[k] = String(environ[k]);
  await send({ type: "http.response.start", status: 200, headers: [["content-type", "application/json"]] });
  await send({ type: "http.response.body", body: JSON.stringify({ env, bodyLength: n }) });
};
export default app;

export function authorizer(environ: Environ, startResponse: StartResponse) {
  if (environ.REMOTE_PASSWD === "secret") {
    startResponse("200 OK", [["Content-Type", "text/plain"], ["Variable-TSGI_USER", environ.REMOTE_USER ?? ""]]);
    return [""];
  }
  startResponse("401 Unauthorized", [["Content-Type", "text/plain"], ["WWW-Authenticate", 'Basic realm="tsgi"']]);
  return ["no\n"];
}
