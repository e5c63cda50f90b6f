/** Baseline: Deno.serve with a bare handler, the same hello. usage: deno run --allow-net raw-deno.ts PORT */
const g = globalThis as unknown as { Deno: { args: string[]; serve(o: object, h: () => Response): unknown } };
const port = Number(g.Deno.args[0] ?? 3000);
g.Deno.serve(
  { port, hostname: "127.0.0.1", onListen: () => console.log(`Deno.serve listening on 127.0.0.1:${port}`) },
  (): Response => new Response("Hello, World!", { headers: { "Content-Type": "text/plain" } }),
);
