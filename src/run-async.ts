/** Drive an async (ASGI-style) app for one http request: receive/send and their ordering rules. */
import { checkFinalStatus, reasonPhrase, SpecError, validateHeaders } from "./headers.ts";
import { BodyIncomplete, BodyTooLarge } from "./input.ts";
import type { BodySource } from "./request.ts";
import { ClientDisconnected, ResponseWriter, toBytes, type Log } from "./response.ts";
import { errorText, fail, type OnError } from "./run-sync.ts";
import type { AsyncApp, Header, HttpScope, ReceiveEvent, SendEvent } from "./spec.ts";

const EMPTY = new Uint8Array(0);

export interface AsyncRunOptions {
  /** Announced body length, so the last chunk can carry `more_body: false` without a read-ahead. */
  expected?: number;
  maxBody: number;
}

export async function runAsync(
  app: AsyncApp, scope: HttpScope, body: BodySource, out: ResponseWriter, log: Log, label: string, opts: AsyncRunOptions,
  onError?: OnError,
): Promise<void> {
  const isHead = scope.method === "HEAD";
  let it: AsyncIterator<Uint8Array> | null = body === null ? null : body[Symbol.asyncIterator]();
  let received = 0;
  let bodyDone = false;
  let started: { status: number; headers: Header[] } | null = null;
  let waiters: (() => void)[] | null = null;
  let gone = false;

  const wake = () => {
    if (waiters) for (const w of waiters.splice(0)) w();
  };
  // `gone`: the client left, or the server answered for the app (413, 400); sends are then moot.
  const leave = () => {
    gone = true;
    wake();
  };
  out.sink.onClose(leave);

  const receive = async (): Promise<ReceiveEvent> => {
    if (!bodyDone) {
      if (it === null || (opts.expected !== undefined && received >= opts.expected)) {
        bodyDone = true;
        return { type: "http.request", body: EMPTY, more_body: false };
      }
      let r: IteratorResult<Uint8Array>;
      try {
        r = await it.next();
      } catch (err) {
        // A body over the limit or cut short: the app sees the client as gone.
        bodyDone = true;
        if (err instanceof ClientDisconnected) {
          // The body source saw the client leave (a bridge's receive loop): nobody to answer or log for.
          leave();
          return { type: "http.disconnect" };
        }
        if (err instanceof BodyTooLarge || err instanceof BodyIncomplete) log(`${label}: ${err.message}`);
        else log(`${label}: request body failed: ${errorText(err)}`);
        if (!out.sent) out.fail(err instanceof BodyTooLarge ? 413 : 400, err instanceof BodyTooLarge ? "Content Too Large" : "Bad Request", err instanceof Error ? err.message + "\n" : "bad request body\n");
        else out.abort(err);
        leave();
        return { type: "http.disconnect" };
      }
      if (r.done) {
        bodyDone = true;
        if (opts.expected !== undefined && received < opts.expected) {
          const err = new BodyIncomplete(opts.expected, received);
          if (out.sink.closed) {
            leave(); // the client left: a short body is no news, and there is nobody to answer
            return { type: "http.disconnect" };
          }
          log(`${label}: ${err.message}`);
          // Same answer as for sync apps: 400 while nothing went out, else a visible truncation.
          if (!out.sent) out.fail(400, "Bad Request", err.message + "\n");
          else out.abort(err);
          leave();
          return { type: "http.disconnect" };
        }
        return { type: "http.request", body: EMPTY, more_body: false };
      }
      let chunk = r.value;
      if (opts.expected !== undefined && received + chunk.length > opts.expected) {
        chunk = chunk.subarray(0, opts.expected - received); // body-cap: nothing past Content-Length
      }
      received += chunk.length;
      if (received > opts.maxBody) {
        bodyDone = true;
        log(`${label}: request body exceeds the limit of ${opts.maxBody} bytes`);
        out.fail(413, "Content Too Large", `request body exceeds the limit of ${opts.maxBody} bytes\n`);
        leave();
        return { type: "http.disconnect" };
      }
      const last = opts.expected !== undefined && received >= opts.expected;
      if (last) bodyDone = true;
      return { type: "http.request", body: chunk, more_body: !last };
    }
    // Body consumed: the next event is the disconnect, when the client leaves or the response ends.
    if (!gone && !out.done) await new Promise<void>((resolve) => (waiters ??= []).push(resolve));
    return { type: "http.disconnect" };
  };

  const send = async (event: SendEvent): Promise<void> => {
    if (event === null || typeof event !== "object") throw new SpecError("event-type", "send() takes an event object");
    if (gone || out.sink.closed) throw new ClientDisconnected();
    if (out.done) throw new SpecError("send-after-complete", `${String(event.type)} sent after the response was complete`);
    if (event.type === "http.response.start") {
      if (started !== null) throw new SpecError("start-twice", "http.response.start sent twice");
      const status = event.status;
      if (!Number.isInteger(status) || status < 100 || status > 599) {
        throw new SpecError("status-int", `http.response.start status must be an integer 100-599, got ${JSON.stringify(status)}`);
      }
      checkFinalStatus(status);
      const headers = event.headers ?? [];
      validateHeaders(headers);
      // Headers wait for the first body event, so a single-event body gets a Content-Length.
      started = { status, headers };
      return;
    }
    if (event.type === "http.response.body") {
      if (started === null) throw new SpecError("body-before-start", "http.response.body sent before http.response.start");
      const bytes = event.body === undefined ? EMPTY : toBytes(event.body);
      const more = event.more_body === true;
      if (!out.sent) {
        out.start(started.status, reasonPhrase(started.status), started.headers, !more && !isHead ? bytes.length : undefined);
      }
      const p = out.write(bytes);
      if (p) await p;
      if (!more) {
        out.end();
        wake();
      }
      return;
    }
    const t = (event as { type?: unknown }).type;
    throw new SpecError("event-type", `unknown event type ${JSON.stringify(t)} for an http scope`);
  };

  try {
    await app(scope, receive, send);
    if (!out.done && !out.sink.closed && !gone) {
      if (started === null) throw new SpecError("no-response", "the app returned without sending http.response.start");
      if (!out.sent) throw new SpecError("no-body-event", "the app returned without sending http.response.body");
      throw new SpecError("incomplete-body", "the app returned before a final http.response.body (more_body false)");
    }
  } catch (err) {
    if (err instanceof ClientDisconnected || gone) return;
    if (onError) onError(err);
    else fail(err, out, log, label);
  } finally {
    // The sink gets its one final call even when the client left (it may hold resources).
    if (!out.done && (out.sink.closed || gone)) out.abort(new ClientDisconnected());
    wake();
  }
}
