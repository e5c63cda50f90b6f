/** The bench's sync app: the same 13-byte hello as the baselines. `tsgi serve bench/http/hello-sync.ts` */
import type { Environ, StartResponse } from "tsgi";

const BODY = ["Hello, World!"];
const HEADERS: [string, string][] = [["Content-Type", "text/plain"]];

export default function app(_environ: Environ, startResponse: StartResponse) {
  startResponse("200 OK", HEADERS);
  return BODY;
}
