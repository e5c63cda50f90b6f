/**
 * A fetch-style app, `(Request) => Response`, as Bun, Deno and Cloudflare Workers take them:
 * `tsgi serve examples/fetch.ts`.
 */
export default async function app(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (request.method === "POST") {
    const text = await request.text();
    return Response.json({ path: url.pathname, received: text.length });
  }
  return new Response(`Hello from a fetch handler! You asked for ${url.pathname}\n`, {
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}
