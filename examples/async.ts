/**
 * An async (ASGI-style) app: `tsgi serve examples/async.ts`. It reads the request body as it
 * arrives and answers with a greeting and the number of body bytes it saw.
 */
import type { Receive, Scope, Send } from "tsgi";

export default async function app(scope: Scope, receive: Receive, send: Send): Promise<void> {
  if (scope.type === "lifespan") {
    // Startup and shutdown hooks go here (open a database pool, then close it).
    for (;;) {
      const event = await receive();
      if (event.type === "lifespan.startup") await send({ type: "lifespan.startup.complete" });
      if (event.type === "lifespan.shutdown") return send({ type: "lifespan.shutdown.complete" });
    }
  }
  let size = 0;
  for (;;) {
    const event = await receive();
    if (event.type !== "http.request") return; // the client went away
    size += event.body.length;
    if (!event.more_body) break;
  }
  const text = `Hello from an async tsgi app! You asked for ${scope.path}` + (size ? ` and sent ${size} bytes` : "") + "\n";
  await send({ type: "http.response.start", status: 200, headers: [["content-type", "text/plain; charset=utf-8"]] });
  await send({ type: "http.response.body", body: text });
}
