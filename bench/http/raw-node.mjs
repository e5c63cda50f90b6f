// Baseline: the plainest node:http hello server (same as /work/shared/bench/anchors/node-http.js).
// usage: node raw-node.mjs PORT
import { createServer } from "node:http";

const body = "Hello, World!"; // 13 bytes
createServer((req, res) => {
  // node adds Content-Length itself because the whole body goes to end().
  res.writeHead(200, { "Content-Type": "text/plain" });
  res.end(body);
}).listen(Number(process.argv[2]), "127.0.0.1", () => console.log("listening"));
