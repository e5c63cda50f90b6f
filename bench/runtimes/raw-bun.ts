/** Baseline: Bun.serve with a bare fetch handler, the same hello. usage: bun raw-bun.ts PORT */
const port = Number(process.argv[2] ?? 3000);
const g = globalThis as unknown as { Bun: { serve(o: object): { port: number } } };
const server = g.Bun.serve({
  port,
  hostname: "127.0.0.1",
  fetch: (): Response => new Response("Hello, World!", { headers: { "Content-Type": "text/plain" } }),
});
console.log(`Bun.serve listening on 127.0.0.1:${server.port}`);
