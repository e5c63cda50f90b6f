#!/usr/bin/env node
/**
 * The `tsgi` command. `tsgi serve APP[:export] [--http ADDR] [--fastcgi [ADDR]] [--uwsgi ADDR] ...`
 * runs on Node (`tsgi`), Bun (`bun src/cli/tsgi.ts`) and Deno (`deno run -A src/cli/tsgi.ts`).
 * Every failure a user can cause ends with one line on stderr and a non-zero exit:
 * 2 for a bad command line, 1 for anything else (missing file or export, port in use, ...).
 */
import { readFileSync } from "node:fs";
import { ENV_WORKER } from "../manager/messages.ts";
import { parseServeArgs, SERVE_USAGE, UsageError, wantsManager } from "./args.ts";
import { LoadError } from "./loader.ts";
import { serve, ServeError } from "./serve.ts";

const USAGE = `usage: tsgi COMMAND

Commands:
  serve APP[:export] [options]   serve an app over HTTP, FastCGI and/or uwsgi (tsgi serve --help)
  help                           this help
  version                        the tsgi version
`;

/** The package version, from the package.json above this file (src/cli or dist/src/cli). */
function version(): string {
  for (const rel of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "tsgi") return `tsgi ${pkg.version}`;
    } catch { /* try the next */ }
  }
  return "tsgi (unknown version)";
}

function fail(message: string, status: number): never {
  process.stderr.write(`tsgi: error: ${message}\n`);
  process.exit(status);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve": {
      const args = parseServeArgs(rest);
      if (args === "help") return void process.stdout.write(SERVE_USAGE);
      if (args === "version") return void process.stdout.write(version() + "\n");
      // A worker of `--workers N` (forked by the master with this same command line), a master,
      // or the single process; the manager is loaded only when asked for.
      if (process.env[ENV_WORKER] === "1") return (await import("../manager/worker.ts")).runWorker(args);
      if (wantsManager(args.manager)) return (await import("../manager/master.ts")).runMaster(args);
      await serve(args);
      return;
    }
    case undefined:
      process.stderr.write(USAGE);
      process.exit(2);
      break;
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return;
    case "version":
    case "--version":
    case "-v":
      process.stdout.write(version() + "\n");
      return;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}: the command is serve (tsgi serve APP); see tsgi --help`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) fail(err.message, 2);
  if (err instanceof LoadError || err instanceof ServeError) fail(err.message, 1);
  fail(err instanceof Error ? err.stack ?? err.message : String(err), 1);
});
