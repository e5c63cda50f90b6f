/** The same hello as a fetch-style app (what a Hono app is to tsgi). */
export default {
  fetch(): Response {
    return new Response("Hello, World!", { headers: { "Content-Type": "text/plain" } });
  },
};
