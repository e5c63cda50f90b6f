/**
 * The Response side of tsgi/bun and tsgi/deno. The core's sink as a Response, `FetchSink`, is
 * shared with the `toFetch` bridge and lives there (src/bridges/to-fetch.ts).
 */
export { FetchSink, isAbort, type FetchSinkOptions } from "../../src/bridges/to-fetch.ts";

/** A 500 Response for a failure outside the app (the core turns app failures into responses itself). */
export function internalError(): Response {
  return new Response("Internal Server Error\n", { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } });
}
