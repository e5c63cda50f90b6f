#!/usr/bin/env bash
# HTTP: the same 13-byte hello, one node process per server on 127.0.0.1, measured as
# bench/lib.sh says (a block per target against its baseline, ABBA pairs over keep-alive,
# medians of the per-pair ratios of req/s and of CPU per request):
#   node-http    raw node:http (the baseline of the two tsgi serve rows below)
#   tsgi-sync    tsgi serve, a sync (WSGI-style) app        -- target >= 0.95x node-http
#   tsgi-async   tsgi serve, an async (ASGI-style) app      -- no target; shown against node-http
#   hono-node    a Hono app on @hono/node-server
#   tsgi-hono    tsgi serve, the Hono app of hono-node, as is; tsgi serve carries fetch apps on
#                @hono/node-server's listener (adapters/hono/node.ts) -- target >= 0.9x hono-node
# BENCH_QUICK=1: one short round per block (CI: proves the script runs; figures mean nothing).
SUITE=http
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-12} DURATION=${DURATION:-3s} WARMUP=${WARMUP:-6s} PIN=${PIN:-1}
source bench/lib.sh
unset NODE_EXTRA_CA_CERTS  # ~55 ms per node start, and not what production has
need wrk curl
[ -f dist/src/cli/tsgi.js ] || { echo "http: dist/ missing (npm run build)" >&2; exit 1; }
[ -f node_modules/@hono/node-server/package.json ] || { echo "http: @hono/node-server missing (npm install)" >&2; exit 1; }
bench_init

NAMES=(node-http tsgi-sync tsgi-async tsgi-hono hono-node)
free_ports "${NAMES[@]}"
bg node-http node bench/http/raw-node.mjs "${PORT[node-http]}"
bg hono-node node bench/http/hono-node.mjs "${PORT[hono-node]}"
bg tsgi-sync node dist/src/cli/tsgi.js serve bench/http/hello-sync.ts --http "127.0.0.1:${PORT[tsgi-sync]}"
bg tsgi-async node dist/src/cli/tsgi.js serve bench/http/hello-async.ts --http "127.0.0.1:${PORT[tsgi-async]}"
bg tsgi-hono node dist/src/cli/tsgi.js serve bench/http/hello-hono.ts --http "127.0.0.1:${PORT[tsgi-hono]}"
for n in "${NAMES[@]}"; do URL[$n]="http://127.0.0.1:${PORT[$n]}/"; done
wait_hello "${NAMES[@]}"

echo "http: hello (13 bytes), wrk -t$WRK_THREADS -c$CONNS -d$DURATION, $ROUNDS ABBA pair(s) per target after a $WARMUP warm-up$([ "$PIN" = 1 ] && echo ", servers on CPU ${SERVER_ON[2]}, wrk on CPU ${LOAD_ON[2]}")"
block tsgi-sync node-http 0.95
block tsgi-async node-http -
block tsgi-hono hono-node 0.9
report "http: tsgi serve vs node:http and @hono/node-server"
