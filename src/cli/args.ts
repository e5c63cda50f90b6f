/**
 * `tsgi serve` arguments, parsed with node:util's parseArgs (built into Node, Bun and Deno) and
 * checked so that every mistake gets one line saying what to write instead.
 */
import { parseArgs } from "node:util";
import { parseListenTarget, type ListenTarget } from "../listener.ts";

/** A mistake in the command line: printed as one line, exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export interface ServeArgs {
  app: string;
  http: ListenTarget[];
  fastcgi: ListenTarget[];
  uwsgi: ListenTarget[];
  accessLog: boolean;
  /** Seconds; undefined: the adapter's default. */
  timeout?: number;
  /** Bytes. */
  maxBody?: number;
  mount?: string;
  certfile?: string;
  keyfile?: string;
  /** Seconds. */
  gracefulTimeout: number;
  /** Unix socket file mode, e.g. 0o660. */
  socketMode?: number;
  /** Process manager (src/manager/); all undefined/false: one process, no master. */
  manager: ManagerArgs;
}

/** The process-manager flags, named after gunicorn's. */
export interface ManagerArgs {
  /** Worker processes; undefined: --workers not given. */
  workers?: number;
  /** Seconds a worker may go without a heartbeat before it is killed; 0 or undefined: never. */
  workerTimeout?: number;
  /** Recycle a worker after this many requests (plus jitter); 0 or undefined: never. */
  maxRequests?: number;
  /** Up to this many more requests per worker, drawn at random, so workers recycle apart. */
  maxRequestsJitter: number;
  /** Load the app in the master before forking, to fail fast and warm the compile cache. */
  preload: boolean;
}

/** True when the flags ask for a master process with workers (see src/manager/master.ts). */
export function wantsManager(m: ManagerArgs): boolean {
  return m.workers !== undefined || (m.workerTimeout ?? 0) > 0 || (m.maxRequests ?? 0) > 0 || m.preload;
}

export const SERVE_USAGE = `usage: tsgi serve APP[:export] [options]

Serve a tsgi app: a .ts, .js or .mjs file whose default export (or the named one) is a sync
app, an async app or a fetch handler (a Hono app works as is).

Listeners (repeatable, mixed freely; default --http 127.0.0.1:8000):
  --http ADDR            HTTP on HOST:PORT, :PORT (127.0.0.1), [::1]:PORT or a unix socket path
  --fastcgi [ADDR]       FastCGI on ADDR; with no ADDR, on the listening socket passed as fd 0
                         (lighttpd bin-path, spawn-fcgi, mod_fcgid)
  --uwsgi ADDR           the uwsgi protocol (nginx uwsgi_pass, Apache mod_proxy_uwsgi)

Options:
  --mount PATH           the app's mount point (SCRIPT_NAME), e.g. /app; default: the root
  --access-log           one line per request on stdout (Apache combined format + duration)
  --timeout SECONDS      close a connection silent for this long mid-request (0: never)
  --max-body SIZE        largest request body: bytes, or with k/m/g (default 1g); larger gets 413
  --certfile FILE        PEM certificate (chain): serve HTTPS on --http listeners
  --keyfile FILE         PEM private key for --certfile
  --graceful-timeout S   on SIGTERM/SIGINT, seconds in-flight requests get to finish (default 30)
  --socket-mode MODE     octal file mode for unix sockets, e.g. 660
  -h, --help             this help
  -v, --version          the tsgi version

Process manager (a master process and prefork workers sharing the listeners; see docs/cli.md):
  --workers N            worker processes (default: one process, no master)
  --worker-timeout S     kill (SIGKILL) and replace a worker whose event loop is blocked this long
  --max-requests N       replace a worker gracefully after N requests (contains leaks)
  --max-requests-jitter J
                         add 0..J to each worker's --max-requests, so they recycle apart
  --preload              load the app in the master first: a broken app fails before forking
  Signals to the master: TERM/INT graceful stop, QUIT immediate stop, HUP graceful reload
  (new workers load the app anew, then the old ones finish), TTIN/TTOU one worker more/less.
`;

const APP_FILE = /\.(?:ts|mts|js|mjs|cjs|tsx|jsx)(?::[A-Za-z_$][\w$]*)?$/;

/**
 * `--fastcgi` takes an optional address, which parseArgs cannot express: a bare `--fastcgi`
 * (last, or followed by another flag or the app file) becomes `--fastcgi=fd:0`.
 */
function expandBareFastcgi(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = argv[i + 1];
    if (a === "--fastcgi" && (next === undefined || next.startsWith("-") || APP_FILE.test(next))) out.push("--fastcgi=fd:0");
    else out.push(a);
  }
  return out;
}

function seconds(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < 0) throw new UsageError(`--${flag} ${JSON.stringify(v)}: give a number of seconds, 0 or more`);
  return n;
}

function count(flag: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim()) || Number(v) < min) throw new UsageError(`--${flag} ${JSON.stringify(v)}: give a whole number, ${min} or more`);
  return Number(v);
}

/** `1048576`, `512k`, `10m`, `1g` (also `10MB`, `10MiB`): powers of 1024. */
export function parseSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?$/i.exec(v.trim());
  if (!m) throw new UsageError(`--max-body ${JSON.stringify(v)}: give bytes, or a number with k, m or g (e.g. 10m)`);
  const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as "" | "k" | "m" | "g"];
  return Math.floor(Number(m[1]) * mult);
}

function targets(flag: string, values: string[] | undefined): ListenTarget[] {
  return (values ?? []).map((v) => {
    try {
      return parseListenTarget(v);
    } catch (err) {
      throw new UsageError(`--${flag}: ${(err as Error).message}`);
    }
  });
}

/** Parse the arguments after `serve`. Returns null for --help (the caller prints the usage). */
export function parseServeArgs(argv: string[]): ServeArgs | "help" | "version" {
  let parsed;
  try {
    parsed = parseArgs({
      args: expandBareFastcgi(argv),
      allowPositionals: true,
      strict: true,
      options: {
        http: { type: "string", multiple: true },
        fastcgi: { type: "string", multiple: true },
        uwsgi: { type: "string", multiple: true },
        "access-log": { type: "boolean" },
        timeout: { type: "string" },
        "max-body": { type: "string" },
        mount: { type: "string" },
        certfile: { type: "string" },
        keyfile: { type: "string" },
        "graceful-timeout": { type: "string" },
        "socket-mode": { type: "string" },
        workers: { type: "string" },
        "worker-timeout": { type: "string" },
        "max-requests": { type: "string" },
        "max-requests-jitter": { type: "string" },
        preload: { type: "boolean" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    });
  } catch (err) {
    // parseArgs' own messages name the flag; keep their first sentence and point at --help.
    throw new UsageError(`${(err as Error).message.split("\n")[0].replace(/\. To specify.*$/, "")} (see tsgi serve --help)`);
  }
  const v = parsed.values;
  if (v.help) return "help";
  if (v.version) return "version";
  const pos = parsed.positionals;
  if (pos.length === 0) throw new UsageError("no app given: tsgi serve APP[:export] (see tsgi serve --help)");
  if (pos.length > 1) throw new UsageError(`one app only, got ${pos.map((p) => JSON.stringify(p)).join(" ")} (flags take their value after a space or =)`);
  if ((v.certfile === undefined) !== (v.keyfile === undefined)) throw new UsageError("--certfile and --keyfile go together");
  let socketMode: number | undefined;
  if (v["socket-mode"] !== undefined) {
    if (!/^0?[0-7]{3}$/.test(v["socket-mode"])) throw new UsageError(`--socket-mode ${JSON.stringify(v["socket-mode"])}: give an octal mode such as 660`);
    socketMode = parseInt(v["socket-mode"], 8);
  }
  const args: ServeArgs = {
    app: pos[0],
    http: targets("http", v.http),
    fastcgi: targets("fastcgi", v.fastcgi),
    uwsgi: targets("uwsgi", v.uwsgi),
    accessLog: v["access-log"] === true,
    timeout: seconds("timeout", v.timeout),
    maxBody: v["max-body"] === undefined ? undefined : parseSize(v["max-body"]),
    mount: v.mount,
    certfile: v.certfile,
    keyfile: v.keyfile,
    gracefulTimeout: seconds("graceful-timeout", v["graceful-timeout"]) ?? 30,
    socketMode,
    manager: {
      workers: count("workers", v.workers, 1),
      workerTimeout: seconds("worker-timeout", v["worker-timeout"]),
      maxRequests: count("max-requests", v["max-requests"], 0),
      maxRequestsJitter: count("max-requests-jitter", v["max-requests-jitter"], 0) ?? 0,
      preload: v.preload === true,
    },
  };
  if (args.certfile !== undefined && args.http.length === 0 && (args.fastcgi.length > 0 || args.uwsgi.length > 0)) {
    throw new UsageError("--certfile applies to --http listeners; FastCGI and uwsgi run behind a front server that does TLS");
  }
  if (args.http.length === 0 && args.fastcgi.length === 0 && args.uwsgi.length === 0) args.http.push({ host: "127.0.0.1", port: 8000 });
  if (args.manager.maxRequestsJitter > 0 && !args.manager.maxRequests) throw new UsageError("--max-requests-jitter goes with --max-requests N");
  if (args.mount !== undefined && !args.mount.startsWith("/")) throw new UsageError(`--mount ${JSON.stringify(args.mount)}: a mount point starts with /`);
  return args;
}
