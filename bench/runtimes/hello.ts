/** The benchmark's hello: a sync tsgi app answering the same 13 bytes as the raw baselines. */
import type { Environ, StartResponse } from "../../src/index.ts";

const body = "Hello, World!";
export default function hello(_environ: Environ, startResponse: StartResponse) {
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  return [body];
}
