/** The bench's async app: the same 13-byte hello. `tsgi serve bench/http/hello-async.ts` */
import type { Receive, Scope, Send } from "tsgi";

const BODY = new TextEncoder().encode("Hello, World!");

export default async function app(scope: Scope, _receive: Receive, send: Send): Promise<void> {
  if (scope.type !== "http") return;
  await send({ type: "http.response.start", status: 200, headers: [["content-type", "text/plain"]] });
  await send({ type: "http.response.body", body: BODY });
}
