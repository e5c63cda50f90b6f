#!/usr/bin/env bash
# tsgi on Bun vs raw Bun.serve, tsgi on Deno vs raw Deno.serve: the same 13-byte hello
# (bench/runtimes/), one server process each, all started in the same run, measured as
# bench/lib.sh says (a block per target against its raw server, ABBA pairs, medians of the
# per-pair ratios of req/s and of CPU per request). Targets: every tsgi row >= 0.9x its raw server.
#   bun-tsgi / deno-tsgi              a sync (WSGI-style) app on the native adapter
#   bun-tsgi-fetch / deno-tsgi-fetch  a fetch-style app (what a Hono app is to tsgi)
#   bun-floor                         no tsgi: raw Bun.serve reading the URL and headers, the
#                                     least a sync app's environ needs (the sync row's ceiling)
#   deno-floor                        the same on Deno.serve (method, URL, headers, peer address)
# BENCH_QUICK=1: one short round per block (CI: proves the script runs; figures mean nothing).
SUITE=runtimes
cd "$(dirname "$0")/../.."
PIN=${PIN:-1}  # servers on one CPU, wrk on another (bench/lib.sh says why)
source bench/lib.sh
BUN=$PWD/node_modules/.bin/bun
DENO=$PWD/node_modules/.bin/deno
export DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1
unset NODE_EXTRA_CA_CERTS
need wrk curl
for b in "$BUN" "$DENO"; do [ -x "$b" ] || { echo "runtimes: $b missing (npm install installs bun and deno)" >&2; exit 1; }; done
bench_init

NAMES=(bun-raw bun-tsgi bun-tsgi-fetch bun-floor deno-raw deno-tsgi deno-tsgi-fetch deno-floor)
free_ports "${NAMES[@]}"
DENO_RUN=("$DENO" run --no-check --allow-net --allow-read --allow-env)
bg bun-raw         "$BUN" bench/runtimes/raw-bun.ts "${PORT[bun-raw]}"
bg bun-tsgi        "$BUN" bench/runtimes/tsgi.ts sync "${PORT[bun-tsgi]}"
bg bun-tsgi-fetch  "$BUN" bench/runtimes/tsgi.ts fetch "${PORT[bun-tsgi-fetch]}"
bg bun-floor       "$BUN" bench/runtimes/floor-bun.ts "${PORT[bun-floor]}"
bg deno-raw        "${DENO_RUN[@]}" bench/runtimes/raw-deno.ts "${PORT[deno-raw]}"
bg deno-tsgi       "${DENO_RUN[@]}" bench/runtimes/tsgi.ts sync "${PORT[deno-tsgi]}"
bg deno-tsgi-fetch "${DENO_RUN[@]}" bench/runtimes/tsgi.ts fetch "${PORT[deno-tsgi-fetch]}"
bg deno-floor      "${DENO_RUN[@]}" bench/runtimes/floor-deno.ts "${PORT[deno-floor]}"
for n in "${NAMES[@]}"; do URL[$n]="http://127.0.0.1:${PORT[$n]}/"; done
wait_hello "${NAMES[@]}"

echo "runtimes: hello (13 bytes), wrk -t$WRK_THREADS -c$CONNS -d$DURATION, $ROUNDS ABBA pair(s) per target after a $WARMUP warm-up$([ "$PIN" = 1 ] && echo ", servers on CPU ${SERVER_ON[2]}, wrk on CPU ${LOAD_ON[2]}")"
block bun-tsgi bun-raw 0.9
block bun-tsgi-fetch bun-raw 0.9
block bun-floor bun-raw -
block deno-tsgi deno-raw 0.9
block deno-tsgi-fetch deno-raw 0.9
block deno-floor deno-raw -
report "runtimes: tsgi on Bun and Deno vs the runtime's own server"
