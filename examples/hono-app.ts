/**
 * A Hono app served by tsgi, unchanged, on any tsgi server (node http, CGI, FastCGI, uwsgi,
 * Bun, Deno):
 *
 *     tsgi serve examples/hono-app.ts --http 127.0.0.1:8000
 *
 * It uses routing, middleware, c.req.json()/formData(), the streaming helpers, cookies and
 * `c.env` (the tsgi environ), and it hosts a sync tsgi app at /legacy through tsgi/hono.
 */
import { Hono } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { streamSSE, streamText } from "hono/streaming";
import type { Environ, StartResponse } from "tsgi";
import { tsgi, type TsgiEnv } from "tsgi/hono";

const app = new Hono<TsgiEnv>();

// Middleware: runs around every request, and can answer on its own.
app.use("*", async (c, next) => {
  await next();
  c.header("X-Powered-By", "hono-on-tsgi");
});
app.use("/api/*", async (c, next) => {
  if (c.req.header("x-api-key") !== "secret") return c.json({ error: "missing or wrong x-api-key" }, 401);
  await next();
});

app.get("/", (c) => c.text("Hello from Hono on tsgi!\n"));
app.get("/users/:id", (c) => c.json({ id: c.req.param("id"), q: c.req.query("q") ?? null }));

app.post("/api/echo", async (c) => c.json({ received: await c.req.json() }));
app.post("/upload", async (c) => {
  const form = await c.req.formData();
  const file = form.get("file");
  return c.json({
    name: form.get("name"),
    file: file instanceof File ? { name: file.name, size: file.size, text: await file.text() } : null,
  });
});

app.get("/stream", (c) =>
  streamText(c, async (s) => {
    for (let i = 0; i < 3; i++) {
      await s.writeln(`line ${i}`);
      await s.sleep(100);
    }
  }));
app.get("/sse", (c) =>
  streamSSE(c, async (s) => {
    for (let i = 0; i < 3; i++) await s.writeSSE({ id: String(i), event: "tick", data: `tick ${i}` });
  }));

app.get("/cookies/set", (c) => {
  setCookie(c, "session", "abc123", { path: "/", httpOnly: true });
  setCookie(c, "theme", "dark", { path: "/" });
  return c.text("two cookies set\n");
});
app.get("/cookies", (c) => c.json(getCookie(c)));

// c.env is the request's environ when a tsgi server runs the app.
app.get("/env", (c) =>
  c.json({
    method: c.env.REQUEST_METHOD,
    scriptName: c.env.SCRIPT_NAME,
    pathInfo: c.env.PATH_INFO,
    query: c.env.QUERY_STRING,
    remoteAddr: c.env.REMOTE_ADDR ?? null,
    urlScheme: c.env["tsgi.url_scheme"],
  }));

// A sync (WSGI-style) tsgi app mounted inside Hono: it sees SCRIPT_NAME "/legacy".
function legacy(environ: Environ, startResponse: StartResponse) {
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  return [`legacy app: SCRIPT_NAME=${environ.SCRIPT_NAME} PATH_INFO=${environ.PATH_INFO}\n`];
}
app.all("/legacy/*", tsgi(legacy));

app.notFound((c) => c.text(`no route for ${c.req.path}\n`, 404));
app.onError((err, c) => c.text(`error: ${err.message}\n`, 500));

export default app;
