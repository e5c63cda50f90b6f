#!/usr/bin/env bash
# HTTP: the same 13-byte hello, in one run, loaded by wrk in alternating rounds:
#   node-http    raw node:http (the baseline every ratio is against)
#   hono-node    a Hono app on @hono/node-server
#   tsgi-sync    tsgi serve, a sync (WSGI-style) app        -- target >= 0.95x node-http
#   tsgi-async   tsgi serve, an async (ASGI-style) app
#   tsgi-hono    tsgi serve, the Hono app of hono-node, as is; tsgi serve carries fetch apps on
#                @hono/node-server's listener (adapters/hono/node.ts) -- target >= 0.9x hono-node
# Every server is one node process on 127.0.0.1; wrk -t2 -c$CONNS over keep-alive.
# Many short rounds rather than a few long ones: on this shared VM a process's CPU per request can
# jump from ~26 to ~40 us for several seconds and back (seen in one raw node:http process over
# consecutive 3 s rounds, pinned to one core or not), so medians need many samples. Each server
# first gets a 6 s warm-up of its own (tsgi's JIT settles in ~5 s of load, node's in ~3).
# Each target runs right next to its baseline (node-http tsgi-sync tsgi-async tsgi-hono hono-node),
# and every other round runs the order backwards: a ratio taken within one round compares two
# neighbouring runs, and a slow spell of the VM that spans a pair hits its two sides in turn.
# Prints each round, then medians of req/s, p99 and the server's CPU time per request (user+sys
# of its process, from /proc: steadier than req/s on a shared VM), the ratios to node-http, and
# the medians of the per-round ratios (the headline figures).
# BENCH_QUICK=1: one short round per target (CI: proves the script runs; figures mean nothing).
set -euo pipefail
cd "$(dirname "$0")/../.."
unset NODE_EXTRA_CA_CERTS  # ~55 ms per node start, and not what production has
if [ "${BENCH_QUICK:-0}" = 1 ]; then ROUNDS=1 DURATION=2s WARMUP=1s FIRST_WARMUP=1s
else ROUNDS=${ROUNDS:-9} DURATION=${DURATION:-4s} WARMUP=${WARMUP:-1s} FIRST_WARMUP=${FIRST_WARMUP:-6s}; fi
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

measure() {  # measure NAME ROUND: warm-up, one wrk run; appends "req/s p99ms cpu-us/req" to $RUN/NAME.runs
  local url="http://127.0.0.1:${PORT[$1]}/" out line t0 t1
  wrk -t2 -c"$CONNS" -d"$WARMUP" "$url" >/dev/null
  t0=$(cpu_ticks "${PID[$1]}")
  out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency "$url")
  t1=$(cpu_ticks "${PID[$1]}")
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "http: $1 had errors:" >&2; grep "Non-2xx\|Socket errors" <<<"$out" >&2; fi
  line=$(awk -v ticks=$((t1 - t0)) -v hz="$HZ" '/requests in/ {n=$1} /Requests\/sec/ {rps=$2} /^ +99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; p99=v}
       END {printf "%.0f %.2f %.2f\n", rps, p99, (n > 0 ? ticks * 1e6 / hz / n : 0)}' <<<"$out")
  echo "$line" >>"$RUN/$1.runs"
  read -r rps p99 cpu <<<"$line"
  printf '  round %d  %-11s %8s req/s  p99 %7s ms  %6s us cpu/req\n' "$2" "$1" "$rps" "$p99" "$cpu"
}
for n in "${ORDER[@]}"; do wrk -t2 -c"$CONNS" -d"$FIRST_WARMUP" "http://127.0.0.1:${PORT[$n]}/" >/dev/null; done
echo "http: hello (13 bytes), wrk -t2 -c$CONNS -d$DURATION after a $WARMUP warm-up, $ROUNDS alternating round(s)"
for r in $(seq "$ROUNDS"); do
  # Forwards in odd rounds, backwards in even ones (see the top of this file).
  for i in $(seq 0 $((${#ORDER[@]} - 1))); do
    if [ $((r % 2)) = 1 ]; then measure "${ORDER[$i]}" "$r"; else measure "${ORDER[$((${#ORDER[@]} - 1 - i))]}" "$r"; fi
  done
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
declare -A RPS P99 CPU
for n in "${ORDER[@]}"; do
  RPS[$n]=$(cut -d' ' -f1 "$RUN/$n.runs" | median)
  P99[$n]=$(cut -d' ' -f2 "$RUN/$n.runs" | median)
  CPU[$n]=$(cut -d' ' -f3 "$RUN/$n.runs" | median)
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
echo "medians (x node-http: req/s ratio; cpu x: node-http's CPU per request / this one's, i.e. >1 is cheaper):"
printf '  %-11s %10s %9s %12s %12s %8s\n' target req/s p99-ms "x node-http" "cpu-us/req" "cpu x"
for n in "${ORDER[@]}"; do
  printf '  %-11s %10s %9s %12s %12s %8s\n' "$n" "${RPS[$n]}" "${P99[$n]}" "$(ratio "${RPS[$n]}" "${RPS[node-http]}")" "${CPU[$n]}" "$(ratio "${CPU[node-http]}" "${CPU[$n]}")"
done
# Per-round ratios: the two runs of a pair are neighbours in every round (see the top of this file).
# perround TARGET BASE FIELD: the round-by-round ratios of FIELD (1 req/s: TARGET/BASE; 3 cpu: BASE/TARGET).
perround() {
  paste -d' ' "$RUN/$1.runs" "$RUN/$2.runs" | awk -v f="$3" '{ a = $f; b = $(f + 3); print (f == 1 ? (b > 0 ? a / b : 0) : (a > 0 ? b / a : 0)) }'
}
for pair in "tsgi-sync node-http" "tsgi-async node-http" "tsgi-hono hono-node"; do
  read -r t b <<<"$pair"
  printf '  %s / %s per round, req/s:%s (median %s); cpu x median %s\n' "$t" "$b" \
    "$(perround "$t" "$b" 1 | xargs printf ' %.2f')" "$(perround "$t" "$b" 1 | median | xargs printf '%.2f')" \
    "$(perround "$t" "$b" 3 | median | xargs printf '%.2f')"
done
echo "tsgi-sync: $(perround tsgi-sync node-http 1 | median | xargs printf '%.2f')x node-http req/s, $(perround tsgi-sync node-http 3 | median | xargs printf '%.2f')x by CPU per request (medians of per-round ratios; target >= 0.95)"
echo "tsgi-hono: $(perround tsgi-hono hono-node 1 | median | xargs printf '%.2f')x hono-node req/s, $(perround tsgi-hono hono-node 3 | median | xargs printf '%.2f')x by CPU per request (medians of per-round ratios; target >= 0.9); $(ratio "${RPS[tsgi-hono]}" "${RPS[node-http]}")x node-http req/s"
