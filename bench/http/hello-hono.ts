/** The bench's Hono app through tsgi: the same app as the @hono/node-server baseline. */
import { Hono } from "hono";

const app = new Hono();
app.get("/", (c) => c.text("Hello, World!"));

export default app;
