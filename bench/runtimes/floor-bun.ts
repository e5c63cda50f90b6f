/**
 * The floor under a sync app on Bun: raw Bun.serve that reads only what any environ needs (the
 * request's URL and its headers) and answers the same hello, with no tsgi code at all. Its ratio
 * to raw-bun.ts is the best a sync (environ-based) adapter on Bun.serve can reach.
 * usage: bun floor-bun.ts PORT
 */
const port = Number(process.argv[2] ?? 3000);
const g = globalThis as unknown as { Bun: { serve(o: object): { port: number } } };
let seen = 0;
function count(this: string[], value: string, name: string): void {
  seen += name.length + value.length;
}
const server = g.Bun.serve({
  port,
  hostname: "127.0.0.1",
  fetch: (request: Request): Response => {
    seen += request.url.length;
    request.headers.forEach(count, null);
    return new Response("Hello, World!", { headers: { "Content-Type": "text/plain" } });
  },
});
console.log(`Bun.serve (url and headers read) listening on 127.0.0.1:${server.port}`);
