// Baseline: a Hono hello app on @hono/node-server (as /work/shared/bench/anchors/hono-node.mjs).
// usage: node hono-node.mjs PORT
import { Hono } from "hono";
import { serve } from "@hono/node-server";

const app = new Hono();
app.get("/", (c) => c.text("Hello, World!"));
serve({ fetch: app.fetch, port: Number(process.argv[2]), hostname: "127.0.0.1" }, () => console.log("listening"));
