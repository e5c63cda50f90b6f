/**
 * The floor under a sync app on Deno: raw Deno.serve that reads only what any environ needs (the
 * request's method, URL and headers, and the peer's address) and answers the same hello, with
 * no tsgi code at all. Its ratio to raw-deno.ts is the best a sync (environ-based) adapter on
 * Deno.serve can reach. usage: deno run --allow-net floor-deno.ts PORT
 */
interface Info {
  remoteAddr: { hostname: string; port: number };
}
const g = globalThis as unknown as { Deno: { args: string[]; serve(o: object, h: (request: Request, info: Info) => Response): unknown } };
const port = Number(g.Deno.args[0] ?? 3000);
let seen = 0;
function count(this: unknown, value: string, name: string): void {
  seen += name.length + value.length;
}
g.Deno.serve(
  { port, hostname: "127.0.0.1", onListen: () => console.log(`Deno.serve (method, url, headers and peer read) listening on 127.0.0.1:${port}`) },
  (request: Request, info: Info): Response => {
    seen += request.method.length + request.url.length + info.remoteAddr.hostname.length + info.remoteAddr.port;
    request.headers.forEach(count, null);
    return new Response("Hello, World!", { headers: { "Content-Type": "text/plain" } });
  },
);
