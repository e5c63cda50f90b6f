/**
 * `tsgi/deno`: serve any tsgi app on Deno.serve.
 * @module
 */
export { listen, serve, type DenoListenOptions, type DenoServeAppOptions } from "./server.ts";
export type { RunningServer, RunningServer as RuntimeServer } from "../../src/index.ts";
