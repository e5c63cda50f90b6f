/**
 * `tsgi/cgi`: run a tsgi app as a CGI script, one request per process (RFC 3875).
 *
 * ```ts
 * #!/usr/bin/env node
 * import { runCgi } from "tsgi/cgi";
 * import app from "./app.js";
 * runCgi(app);
 * ```
 * or, with no build step, `#!/usr/bin/env cgi-run` as the first line of `app.ts` (docs/cgi.md).
 */
export { runCgi, runCgiModule, failCgi, type CgiOptions } from "./run.ts";
export { paramsFromEnv, dropHttpProxy, isNphScript } from "./environ.ts";
export { stdinBody } from "./stdin.ts";
export { CgiSink, type CgiSinkOptions } from "./sink.ts";
export { Stdout } from "./stdout.ts";
