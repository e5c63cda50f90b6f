#!/usr/bin/env bash
# tsgi on Bun vs raw Bun.serve, tsgi on Deno vs raw Deno.serve: the same 13-byte hello
# (bench/runtimes/), all servers started in the same run, loaded by wrk in alternating rounds
# (raw, tsgi sync app, tsgi fetch app, raw, ...) so that drift on this shared box hits all of
# them alike; the order rotates each round. Prints median req/s, p99 and the server's CPU time per
# request (user+sys of its process from /proc, as bench/suites/http.sh: steadier than req/s on a
# shared box) and both ratios to the raw server (req/s tsgi/raw; cpu raw/tsgi; target >= 0.9).
# BENCH_QUICK=1: one short round (CI: proves the script runs; its figures mean nothing).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUN=$ROOT/node_modules/.bin/bun
DENO=$ROOT/node_modules/.bin/deno
export DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1
unset NODE_EXTRA_CA_CERTS
if [ "${BENCH_QUICK:-0}" = 1 ]; then ROUNDS=1 DURATION=1s WARMUP=1s; else ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-8s} WARMUP=${WARMUP:-2s}; fi
CONNS=${CONNS:-50}

command -v wrk >/dev/null || { echo "runtimes: wrk not found (apt-get install wrk)" >&2; exit 1; }
for b in "$BUN" "$DENO"; do [ -x "$b" ] || { echo "runtimes: $b missing (npm install installs bun and deno)" >&2; exit 1; }; done

WORK=$(mktemp -d /tmp/tsgi-bench-runtimes.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# start NAME CMD... : run a server on a fresh port (appended as the last argument), wait until it
# answers exactly "Hello, World!", remember NAME=port.
declare -A PORT PID
start() {
  local name=$1; shift
  local port; port=$(free_port)
  "$@" "$port" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  PID[$name]=$!
  for _ in $(seq 100); do
    if [ "$(curl -s "http://127.0.0.1:$port/" 2>/dev/null)" = "Hello, World!" ]; then PORT[$name]=$port; return 0; fi
    sleep 0.1
  done
  echo "runtimes: $name did not answer on port $port:" >&2; cat "$WORK/$name.log" >&2; exit 1
}

DENO_RUN=("$DENO" run --no-check --allow-net --allow-read --allow-env)
start bun-raw        "$BUN" bench/runtimes/raw-bun.ts
start bun-tsgi       "$BUN" bench/runtimes/tsgi.ts sync
start bun-tsgi-fetch "$BUN" bench/runtimes/tsgi.ts fetch
start deno-raw        "${DENO_RUN[@]}" bench/runtimes/raw-deno.ts
start deno-tsgi       "${DENO_RUN[@]}" bench/runtimes/tsgi.ts sync
start deno-tsgi-fetch "${DENO_RUN[@]}" bench/runtimes/tsgi.ts fetch
ORDER=(bun-raw bun-tsgi bun-tsgi-fetch deno-raw deno-tsgi deno-tsgi-fetch)

HZ=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, all threads

# measure NAME ROUND: warm-up, then one wrk run; appends "req/s p99ms cpu-us/req" to $WORK/NAME.runs
measure() {
  local url="http://127.0.0.1:${PORT[$1]}/" out line t0 t1
  wrk -t2 -c"$CONNS" -d"$WARMUP" "$url" >/dev/null
  t0=$(cpu_ticks "${PID[$1]}")
  out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency "$url")
  t1=$(cpu_ticks "${PID[$1]}")
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "runtimes: $1 had errors:" >&2; echo "$out" >&2; fi
  line=$(awk -v ticks=$((t1 - t0)) -v hz="$HZ" '/requests in/ {n=$1} /Requests\/sec/ {rps=$2} /^ +99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; p99=v}
       END {printf "%.0f %.2f %.2f\n", rps, p99, (n > 0 ? ticks * 1e6 / hz / n : 0)}' <<<"$out")
  echo "$line" >>"$WORK/$1.runs"
  [ "${VERBOSE:-0}" = 1 ] && printf '  round %d  %-16s %s\n' "$2" "$1" "$line" >&2
  return 0
}

for r in $(seq "$ROUNDS"); do
  # Rotate the order every round, so that no server always runs first (or right after another).
  for i in $(seq 0 $((${#ORDER[@]} - 1))); do
    measure "${ORDER[$(((i + r - 1) % ${#ORDER[@]}))]}" "$r"
  done
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
declare -A RPS P99 CPU
for name in "${ORDER[@]}"; do
  RPS[$name]=$(cut -d' ' -f1 "$WORK/$name.runs" | median)
  P99[$name]=$(cut -d' ' -f2 "$WORK/$name.runs" | median)
  CPU[$name]=$(cut -d' ' -f3 "$WORK/$name.runs" | median)
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }

echo "runtimes: hello world, wrk -t2 -c$CONNS -d$DURATION, $ROUNDS alternating round(s), medians"
echo "(ratio: req/s tsgi/raw; cpu x: raw's CPU per request / this one's, >1 is cheaper)"
printf '%-16s %9s %8s %7s %11s %7s   %s\n' server req/s p99-ms ratio cpu-us/req "cpu x" "req/s by round"
for name in "${ORDER[@]}"; do
  base=${name%%-*}-raw
  printf '%-16s %9s %8s %7s %11s %7s   %s\n' "$name" "${RPS[$name]}" "${P99[$name]}" "$(ratio "${RPS[$name]}" "${RPS[$base]}")x" \
    "${CPU[$name]}" "$(ratio "${CPU[$base]}" "${CPU[$name]}")x" "$(cut -d' ' -f1 "$WORK/$name.runs" | tr '\n' ' ')"
done
[ "${BENCH_QUICK:-0}" = 1 ] && echo "(quick run: figures are not meaningful)"
exit 0
