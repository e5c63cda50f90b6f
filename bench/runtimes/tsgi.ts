/**
 * tsgi serving a hello app on the runtime running this file (Bun or Deno), through the
 * native adapter. usage: bun|deno tsgi.ts sync|fetch PORT
 */
import type { App } from "../../src/index.ts";

const g = globalThis as unknown as { Bun?: unknown; Deno?: { args: string[] } };
const args = g.Deno ? g.Deno.args : process.argv.slice(2);
const port = Number(args[1] ?? 3000);
const app = (args[0] === "fetch" ? await import("./hello-fetch.ts") : await import("./hello.ts")).default as App;
const adapter = g.Bun ? await import("../../adapters/bun/index.ts") : await import("../../adapters/deno/index.ts");
const s = await adapter.serve(app, { listen: { host: "127.0.0.1", port }, handleSignals: true, gracefulTimeout: 1 });
console.log(`tsgi listening on ${s.urls[0]}`);
