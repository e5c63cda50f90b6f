#!/usr/bin/env bash
# HTTP: the same 13-byte hello, in one run, loaded by wrk in alternating rounds:
#   node-http    raw node:http (the baseline every ratio is against)
#   hono-node    a Hono app on @hono/node-server
#   tsgi-sync    tsgi serve, a sync (WSGI-style) app        -- target >= 0.95x node-http
#   tsgi-async   tsgi serve, an async (ASGI-style) app
#   tsgi-hono    tsgi serve, the Hono app of hono-node, as is; tsgi serve carries fetch apps on
#                @hono/node-server's listener (adapters/hono/node.ts) -- target >= 0.9x hono-node
# Every server is one node process on 127.0.0.1; wrk -t2 -c$CONNS over keep-alive.
# Each target is measured against its baseline in a block of its own (tsgi-sync and tsgi-async
# against node-http, tsgi-hono against hono-node): both get a 6 s warm-up, then ROUNDS pairs of
# back-to-back runs in the order ABBA... The ratio of a pair compares two neighbouring runs, and
# the order cancels a steady drift; the headline figures are the medians of the per-pair ratios,
# so that a few pairs caught in a slow spell (below) do not decide them. Runs follow each other
# with no pause: a node process left idle
# for ~20 s shrinks V8's young generation to ~1 MB (--trace-gc) and needs seconds of load to grow
# it back, and the old layout (all five servers in turn, ~20 s idle each) partly measured that.
# What still moves the figures is this VM: one server process, tsgi's or node's, can spend ~40%
# more CPU per request for ~10 s while the other does not (pinned to a core or not); where
# sampled, the extra was kernel time (sys), not the process's own code.
# Prints every run, then per target the medians of req/s, p99 and server CPU time per request
# (user+sys of its process, from /proc) and the per-pair ratios with their medians.
# BENCH_QUICK=1: one short round per target (CI: proves the script runs; figures mean nothing).
set -euo pipefail
cd "$(dirname "$0")/../.."
unset NODE_EXTRA_CA_CERTS  # ~55 ms per node start, and not what production has
if [ "${BENCH_QUICK:-0}" = 1 ]; then ROUNDS=1 DURATION=2s FIRST_WARMUP=1s
else ROUNDS=${ROUNDS:-8} DURATION=${DURATION:-4s} FIRST_WARMUP=${FIRST_WARMUP:-6s}; fi
CONNS=${CONNS:-50}
command -v wrk >/dev/null || { echo "http: wrk not found (apt-get install wrk)" >&2; exit 1; }
[ -f dist/src/cli/tsgi.js ] || { echo "http: dist/ missing (npm run build)" >&2; exit 1; }
[ -f node_modules/@hono/node-server/package.json ] || { echo "http: @hono/node-server missing (npm install)" >&2; exit 1; }

RUN=$(mktemp -d /tmp/tsgi-bench-http.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
# bg NAME CMD...: own session (stopped by PID alone), output in $RUN/NAME.log
bg() { local name=$1; shift; setsid "$@" >"$RUN/$name.log" 2>&1 </dev/null & PIDS+=($!); }

ORDER=(node-http tsgi-sync tsgi-async tsgi-hono hono-node)
declare -A PORT PID
for n in "${ORDER[@]}"; do PORT[$n]=$(free_port); done
bg node-http node bench/http/raw-node.mjs "${PORT[node-http]}"; PID[node-http]=$!
bg hono-node node bench/http/hono-node.mjs "${PORT[hono-node]}"; PID[hono-node]=$!
bg tsgi-sync node dist/src/cli/tsgi.js serve bench/http/hello-sync.ts --http "127.0.0.1:${PORT[tsgi-sync]}"; PID[tsgi-sync]=$!
bg tsgi-async node dist/src/cli/tsgi.js serve bench/http/hello-async.ts --http "127.0.0.1:${PORT[tsgi-async]}"; PID[tsgi-async]=$!
bg tsgi-hono node dist/src/cli/tsgi.js serve bench/http/hello-hono.ts --http "127.0.0.1:${PORT[tsgi-hono]}"; PID[tsgi-hono]=$!
HZ=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime of the server process

for n in "${ORDER[@]}"; do
  ok=
  for _ in $(seq 150); do
    if [ "$(curl -s "http://127.0.0.1:${PORT[$n]}/" 2>/dev/null)" = "Hello, World!" ]; then ok=1; break; fi
    sleep 0.1
  done
  [ -n "$ok" ] || { echo "http: $n does not answer Hello, World!" >&2; for f in "$RUN"/*.log; do echo "== $f"; tail -n 5 "$f"; done >&2; exit 1; }
done

measure() {  # measure NAME BLOCK PAIR: one wrk run; appends "req/s p99ms cpu-us/req" to $RUN/BLOCK.NAME.runs
  local url="http://127.0.0.1:${PORT[$1]}/" out line t0 t1
  t0=$(cpu_ticks "${PID[$1]}")
  out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency "$url")
  t1=$(cpu_ticks "${PID[$1]}")
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "http: $1 had errors:" >&2; grep "Non-2xx\|Socket errors" <<<"$out" >&2; fi
  line=$(awk -v ticks=$((t1 - t0)) -v hz="$HZ" '/requests in/ {n=$1} /Requests\/sec/ {rps=$2} /^ +99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; p99=v}
       END {printf "%.0f %.2f %.2f\n", rps, p99, (n > 0 ? ticks * 1e6 / hz / n : 0)}' <<<"$out")
  echo "$line" >>"$RUN/$2.$1.runs"
  read -r rps p99 cpu <<<"$line"
  printf '  pair %d  %-11s %8s req/s  p99 %7s ms  %6s us cpu/req\n' "$3" "$1" "$rps" "$p99" "$cpu"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
# perpair BLOCK TARGET BASE FIELD: the pair-by-pair ratios of FIELD (1 req/s: TARGET/BASE; 3 cpu: BASE/TARGET).
perpair() {
  paste -d' ' "$RUN/$1.$2.runs" "$RUN/$1.$3.runs" | awk -v f="$4" '{ a = $f; b = $(f + 3); print (f == 1 ? (b > 0 ? a / b : 0) : (a > 0 ? b / a : 0)) }'
}

BLOCKS=("tsgi-sync node-http" "tsgi-async node-http" "tsgi-hono hono-node")
echo "http: hello (13 bytes), wrk -t2 -c$CONNS -d$DURATION, $ROUNDS ABBA pair(s) per target after a $FIRST_WARMUP warm-up"
for b in "${!BLOCKS[@]}"; do
  read -r t base <<<"${BLOCKS[$b]}"
  echo "block $((b + 1)): $t vs $base"
  wrk -t2 -c"$CONNS" -d"$FIRST_WARMUP" "http://127.0.0.1:${PORT[$base]}/" >/dev/null
  wrk -t2 -c"$CONNS" -d"$FIRST_WARMUP" "http://127.0.0.1:${PORT[$t]}/" >/dev/null
  for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then measure "$base" "$b" "$r"; measure "$t" "$b" "$r"
    else measure "$t" "$b" "$r"; measure "$base" "$b" "$r"; fi
  done
done

echo "medians per block (cpu x: the baseline's CPU per request / the target's, >1 is cheaper):"
printf '  %-24s %10s %9s %10s %12s %12s\n' "target vs baseline" req/s p99-ms "base req/s" "cpu-us/req" "base cpu"
for b in "${!BLOCKS[@]}"; do
  read -r t base <<<"${BLOCKS[$b]}"
  printf '  %-24s %10s %9s %10s %12s %12s\n' "$t vs $base" "$(cut -d' ' -f1 "$RUN/$b.$t.runs" | median)" "$(cut -d' ' -f2 "$RUN/$b.$t.runs" | median)" \
    "$(cut -d' ' -f1 "$RUN/$b.$base.runs" | median)" "$(cut -d' ' -f3 "$RUN/$b.$t.runs" | median)" "$(cut -d' ' -f3 "$RUN/$b.$base.runs" | median)"
done
for b in "${!BLOCKS[@]}"; do
  read -r t base <<<"${BLOCKS[$b]}"
  printf '  %s / %s per pair, req/s:%s (median %s); cpu x median %s\n' "$t" "$base" \
    "$(perpair "$b" "$t" "$base" 1 | xargs printf ' %.2f')" "$(perpair "$b" "$t" "$base" 1 | median | xargs printf '%.2f')" \
    "$(perpair "$b" "$t" "$base" 3 | median | xargs printf '%.2f')"
done
echo "tsgi-sync: $(perpair 0 tsgi-sync node-http 1 | median | xargs printf '%.2f')x node-http req/s, $(perpair 0 tsgi-sync node-http 3 | median | xargs printf '%.2f')x by CPU per request (medians of per-pair ratios; target >= 0.95)"
echo "tsgi-hono: $(perpair 2 tsgi-hono hono-node 1 | median | xargs printf '%.2f')x hono-node req/s, $(perpair 2 tsgi-hono hono-node 3 | median | xargs printf '%.2f')x by CPU per request (medians of per-pair ratios; target >= 0.9)"
