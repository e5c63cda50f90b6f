/**
 * Serve one request as a CGI script (RFC 3875): environ from the process environment, body
 * from stdin, response on stdout, diagnostics on stderr; then exit. Any tsgi app kind works.
 */
import { Gateway, type GatewayOptions } from "../../src/gateway.ts";
import { appKind } from "../../src/kind.ts";
import type { App } from "../../src/spec.ts";
import { dropHttpProxy, isNphScript, paramsFromEnv } from "./environ.ts";
import { CgiSink } from "./sink.ts";
import { stdinBody } from "./stdin.ts";
import { Stdout } from "./stdout.ts";

// Importing this module (first) is enough to keep httpoxy's HTTP_PROXY from modules that read
// the environment at load time; runCgi removes it again in case something put it back.
dropHttpProxy();

export interface CgiOptions extends Omit<GatewayOptions, "runOnce" | "multiprocess" | "multithread"> {
  /** The meta-variables; default `process.env` (whose HTTP_PROXY is removed, see httpoxy). */
  env?: Record<string, string | undefined>;
  /** Descriptors of the request body and the response; default 0 and 1. */
  stdin?: number;
  stdout?: number;
  /** Answer as an NPH script; default: when the script's file name starts with `nph-`. */
  nph?: boolean;
  /** Call `process.exit` once the response is out (default true). Tests and embedders pass false. */
  exit?: boolean;
}

/**
 * Run `app` for the request in this process's environment. Resolves to the exit status
 * (0 once a response went out, 1 when it had to be cut short) and, unless `exit: false`,
 * exits with it: an app's leftover timers or sockets must not hold the server's request open.
 */
export async function runCgi(app: App, options: CgiOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  if (env === process.env) dropHttpProxy();
  const params = paramsFromEnv(env);
  const out = new Stdout(options.stdout ?? 1);
  const nph = options.nph ?? isNphScript(params);
  const proto = params.SERVER_PROTOCOL;
  const sink = new CgiSink(out, { nph: nph ? (proto && proto.startsWith("HTTP/") ? proto : "HTTP/1.0") : undefined });
  let code = 0;
  // Apache (mod_cgi and mod_cgid) sends SIGTERM when the client went away, then SIGKILL 3 s
  // later: treat it as a disconnect, so the app stops and its close() runs, and exit then.
  const onTerm = () => {
    out.fail();
    setTimeout(() => exit(1), 2000).unref();
  };
  process.on("SIGTERM", onTerm);
  try {
    const gateway = new Gateway(app, { ...options, runOnce: true, multiprocess: true, multithread: false });
    await gateway.handleParams(params, stdinBody(params, options.stdin ?? 0), sink);
    if (sink.aborted) code = 1;
  } catch (err) {
    // Only a bug in the server path gets here (the core turns app errors into responses).
    process.stderr.write(`tsgi: cgi: ${err instanceof Error ? err.stack : String(err)}\n`);
    if (!sink.done) failResponse(out);
    code = 1;
  }
  await out.flush();
  process.off("SIGTERM", onTerm);
  if (out.broken) code = 1;
  if (options.exit !== false) exit(code);
  return code;
}

/**
 * Serve a module's app export: what `cgi-run` calls. A missing or wrong export is the site
 * owner's mistake: one line on stderr (the server's error log) and a 500, never details to the client.
 */
export function runCgiModule(mod: Record<string, unknown>, exportName: string, file: string, options: CgiOptions = {}): Promise<number> {
  let app: unknown;
  let problem: string | undefined;
  if (!(exportName in mod)) {
    problem = `app file ${file} has no export "${exportName}" (its exports: ${Object.keys(mod).join(", ") || "none"})`;
  } else {
    app = mod[exportName];
    try {
      appKind(app);
    } catch (err) {
      problem = `export "${exportName}" of ${file} is not a tsgi app: ${(err as Error).message}`;
    }
  }
  if (problem !== undefined) return failCgi(problem, options);
  return runCgi(app as App, options);
}

/** Answer 500 after logging `message` (one line) to stderr; for failures before the app runs. */
export async function failCgi(message: string, options: Pick<CgiOptions, "stdout" | "exit"> = {}): Promise<number> {
  process.stderr.write(`tsgi: ${message}\n`);
  const out = new Stdout(options.stdout ?? 1);
  failResponse(out);
  await out.flush();
  if (options.exit !== false) exit(1);
  return 1;
}

const FAIL_BODY = "Internal Server Error: the application could not run; the server's error log says why.\n";

function failResponse(out: Stdout): void {
  const text = `Status: 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${FAIL_BODY.length}\r\n\r\n${FAIL_BODY}`;
  void out.write(new TextEncoder().encode(text));
}

function exit(code: number): never {
  return process.exit(code);
}
