/**
 * lint for async apps: checks the scope and the events the server delivers (`request-events`),
 * and every event the app sends against the ordering rules of SPEC.md §5.4, before the server
 * sees it. Lifespan scopes are checked too (`lifespan-event`).
 */
import { checkFinalStatus, SpecError, statusHasNoBody, validateHeaders } from "../../headers.ts";
import { asyncApp } from "../../kind.ts";
import { ClientDisconnected } from "../../response.ts";
import type { AsyncApp, Receive, ReceiveEvent, Scope, Send, SendEvent } from "../../spec.ts";
import { checkScope } from "./environ.ts";
import { declaredLength } from "./sync.ts";

const encoder = new TextEncoder();

function lintLifespan(app: AsyncApp, scope: Scope, receive: Receive, send: Send): Promise<void> {
  if (scope.state !== undefined && (scope.state === null || typeof scope.state !== "object")) {
    throw new SpecError("lifespan-state", "server: the lifespan scope's state must be an object");
  }
  return app(scope, receive, async (e: SendEvent) => {
    if (e === null || typeof e !== "object" || typeof e.type !== "string" || !e.type.startsWith("lifespan.")) {
      throw new SpecError("lifespan-event", `app: only lifespan.* events may be sent on a lifespan scope, got ${JSON.stringify((e as { type?: unknown } | null)?.type)}`);
    }
    return send(e);
  });
}

export function lintAsync(app: AsyncApp): AsyncApp {
  return asyncApp(async (scope: Scope, receive: Receive, send: Send): Promise<void> => {
    if (scope.type === "lifespan") return lintLifespan(app, scope, receive, send);
    if (scope.type !== "http") throw new SpecError("scope-keys", `server: unknown scope type ${JSON.stringify((scope as { type?: unknown }).type)}`);
    checkScope(scope);
    const isHead = scope.method === "HEAD";

    let bodyDone = false;
    let disconnected = false;
    const lintReceive: Receive = async () => {
      const e: ReceiveEvent = await receive();
      if (e === null || typeof e !== "object") throw new SpecError("request-events", "server: receive() gave a non-object");
      if (e.type === "http.disconnect") {
        disconnected = true;
        return e;
      }
      if (e.type !== "http.request") throw new SpecError("request-events", `server: receive() gave ${JSON.stringify(e.type)} on an http scope`);
      if (disconnected) throw new SpecError("request-events", "server: http.request after http.disconnect");
      if (bodyDone) throw new SpecError("request-events", "server: http.request after the last one (more_body false)");
      if (!(e.body instanceof Uint8Array) || typeof e.more_body !== "boolean") {
        throw new SpecError("request-events", "server: http.request needs body: Uint8Array and more_body: boolean");
      }
      if (!e.more_body) bodyDone = true;
      return e;
    };

    let status = -1;
    let declared = -1;
    let produced = 0;
    let bodyEvents = 0;
    let complete = false;
    let gone = false;
    const lintSend: Send = async (e: SendEvent) => {
      if (e === null || typeof e !== "object") throw new SpecError("event-type", "app: send() takes an event object");
      if (complete) throw new SpecError("send-after-complete", `app: ${String(e.type)} sent after the final http.response.body`);
      if (e.type === "http.response.start") {
        if (status >= 0) throw new SpecError("start-twice", "app: http.response.start sent twice");
        if (!Number.isInteger(e.status) || e.status < 100 || e.status > 599) {
          throw new SpecError("status-int", `app: status must be an integer 100-599, got ${JSON.stringify(e.status)}`);
        }
        checkFinalStatus(e.status);
        const headers = e.headers ?? [];
        validateHeaders(headers);
        declared = declaredLength(headers);
        if (e.trailers === true) throw new SpecError("trailers", "app: tsgi 1.0 has no trailers; do not set trailers: true");
        status = e.status;
      } else if (e.type === "http.response.body") {
        if (status < 0) throw new SpecError("body-before-start", "app: http.response.body before http.response.start");
        const b = e.body;
        if (b !== undefined && !(b instanceof Uint8Array) && typeof b !== "string") {
          throw new SpecError("chunk-type", `app: body must be a Uint8Array or string, got ${typeof b}`);
        }
        const n = b === undefined ? 0 : typeof b === "string" ? encoder.encode(b).length : b.length;
        if (n > 0 && statusHasNoBody(status)) throw new SpecError("no-body-status", `app: a ${status} response has no body`);
        produced += n;
        if (declared >= 0 && produced > declared && !isHead) throw new SpecError("content-length-over", `app: sent ${produced} bytes, more than its Content-Length of ${declared}`);
        bodyEvents++;
        if (e.more_body !== true) {
          complete = true;
          if (declared >= 0 && produced < declared && !isHead && !statusHasNoBody(status)) {
            throw new SpecError("content-length-short", `app: sent ${produced} bytes, less than its Content-Length of ${declared}`);
          }
        }
      } else {
        throw new SpecError("event-type", `app: unknown event type ${JSON.stringify((e as { type?: unknown }).type)} for an http scope`);
      }
      try {
        return await send(e);
      } catch (err) {
        if (err instanceof ClientDisconnected) gone = true;
        throw err;
      }
    };

    await app(scope, lintReceive, lintSend);
    if (complete || gone || disconnected) return;
    if (status < 0) throw new SpecError("no-response", "app: returned without sending http.response.start");
    if (bodyEvents === 0) throw new SpecError("no-body-event", "app: returned after http.response.start without any http.response.body");
    throw new SpecError("incomplete-body", "app: returned before a final http.response.body (more_body false)");
  });
}
