# Shared by the wrk suites (bench/suites/{http,runtimes,fastcgi,uwsgi}.sh); sourced, not run.
#
# How a suite measures: every server runs for the whole suite; each target is compared with its
# baseline in a block of its own: both get a warm-up, then ROUNDS pairs of back-to-back wrk runs
# in the order ABBA... (base, target, target, base, ...). The ratio of a pair compares two
# neighbouring runs, and the alternation cancels a steady drift; a block's figure is the median
# of its per-pair ratios, so the few pairs caught in one of this VM's slow spells (one process
# spending ~40% more CPU per request for seconds at a time, mostly in the kernel) do not decide
# it. Runs follow each other with no pause: a node process left idle for ~20 s shrinks V8's
# young generation and needs seconds of load to grow it back.
# Besides req/s, each run records the server's CPU time per request (utime+stime of its whole
# process group, from /proc): the cost tsgi adds, whoever else is busy on the machine.
#
# PIN=1 (set by a suite of single-process servers, before sourcing): every server runs on the
# second CPU this process may use and wrk (one thread) on the first. This VM's CPUs switch, for seconds to tens of seconds at a
# time, between two speeds: 2 s windows of one node:http hello server cost ~22 or ~43 µs of CPU
# per request, nothing in between (2026-12-05). With servers free to move, a pair could set one
# server on a fast CPU against the other on a slow one; sharing one CPU, the two runs of a pair
# mostly see the same state (tsgi-sync / node-http pairs: 0.91-0.99 pinned, 0.57-1.22
# unpinned, the same day). Needs `taskset` (util-linux) and two CPUs; PIN=0 turns it off.
#
# A suite sets SUITE, calls bench_init, starts servers with `bg NAME CMD...` (each in its own
# session, so its process group is its PID), sets URL[NAME] (what wrk loads) and, for a server
# behind a front, GROUP[NAME] (whose CPU counts), waits with wait_hello, then calls block.

set -euo pipefail
if [ "${BENCH_QUICK:-0}" = 1 ]; then ROUNDS=1 DURATION=1s WARMUP=1s
else ROUNDS=${ROUNDS:-6} DURATION=${DURATION:-4s} WARMUP=${WARMUP:-4s}; fi
CONNS=${CONNS:-50}
PIN=${PIN:-0}
if [ "$PIN" = 1 ] && { [ "$(nproc)" -lt 2 ] || ! command -v taskset >/dev/null; }; then
  echo "bench: PIN=1 needs taskset (util-linux) and 2 CPUs; running unpinned" >&2; PIN=0
fi
SERVER_ON=() LOAD_ON=() WRK_THREADS=2
if [ "$PIN" = 1 ]; then
  # The first two CPUs this process may use (Cpus_allowed_list: "0-1", "2,5-7"...): a
  # container's CPUs need not be numbered 0 and 1.
  ALLOWED=()
  for part in $(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status | tr ',' ' '); do
    if [[ $part == *-* ]]; then ALLOWED+=($(seq "${part%-*}" "${part#*-}")); else ALLOWED+=("$part"); fi
  done
  if [ "${#ALLOWED[@]}" -ge 2 ]; then SERVER_ON=(taskset -c "${ALLOWED[1]}") LOAD_ON=(taskset -c "${ALLOWED[0]}") WRK_THREADS=1
  else echo "bench: PIN=1 needs two usable CPUs (Cpus_allowed_list); running unpinned" >&2; PIN=0; fi
fi
HZ=$(getconf CLK_TCK)
declare -A URL GROUP PORT
PIDS=()
BLOCKS=()

bench_init() {
  RUN=$(mktemp -d "/tmp/tsgi-bench-$SUITE.XXXXXX")
  chmod 755 "$RUN"  # front servers running as another user read sockets and configs here
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

bench_cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$RUN"
}

# need TOOL... : fail (not skip) when a tool is missing, naming the package that has it.
need() {
  local t
  for t in "$@"; do command -v "$t" >/dev/null || { echo "$SUITE: $t not found (apt-get install $t, or npm install)" >&2; exit 1; }; done
}

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# free_ports NAME...: PORT[NAME] for each, all distinct (a port just released can come back at once).
free_ports() {
  local n p used=" "
  for n in "$@"; do
    p=$(free_port)
    while [[ $used == *" $p "* ]]; do p=$(free_port); done
    PORT[$n]=$p used+="$p "
  done
}

# bg NAME CMD...: run CMD in its own session (stopped, and its CPU counted, by process group);
# output in $RUN/NAME.log. GROUP[NAME] defaults to it.
bg() {
  local name=$1; shift
  setsid "${SERVER_ON[@]}" "$@" >"$RUN/$name.log" 2>&1 </dev/null &
  PIDS+=($!)
  GROUP[$name]=$!
}

# wait_hello NAME...: each URL[NAME] must answer exactly "Hello, World!" within 15 s.
wait_hello() {
  local n ok
  for n in "$@"; do
    ok=
    for _ in $(seq 150); do
      if [ "$(curl -s "${URL[$n]}" 2>/dev/null)" = "Hello, World!" ]; then ok=1; break; fi
      sleep 0.1
    done
    [ -n "$ok" ] || { echo "$SUITE: $n does not answer Hello, World! at ${URL[$n]}" >&2; for f in "$RUN"/*.log; do echo "== $f"; tail -n 5 "$f"; done >&2; exit 1; }
  done
}

# wait_socket PATH...: until each unix socket exists (10 s at most).
wait_socket() {
  local s
  for s in "$@"; do
    for _ in $(seq 100); do [ -S "$s" ] && break; sleep 0.1; done
  done
}

cpu_ticks() {  # utime + stime (clock ticks) of every process in group $1
  local t=0 p v
  for p in $(pgrep -g "$1"); do
    v=$(awk '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " "); print f[12] + f[13] }' "/proc/$p/stat" 2>/dev/null) || v=0
    t=$((t + ${v:-0}))
  done
  echo "$t"
}

# measure NAME BLOCK PAIR: one wrk run; appends "req/s p99ms cpu-us/req" to $RUN/BLOCK.NAME.runs.
measure() {
  local out line t0 t1 group=${GROUP[$1]}
  t0=$(cpu_ticks "$group")
  out=$("${LOAD_ON[@]}" wrk -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" --latency "${URL[$1]}")
  t1=$(cpu_ticks "$group")
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "$SUITE: $1 had errors:" >&2; grep "Non-2xx\|Socket errors" <<<"$out" >&2; fi
  line=$(awk -v ticks=$((t1 - t0)) -v hz="$HZ" '/requests in/ {n=$1} /Requests\/sec/ {rps=$2} /^ +99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; p99=v}
       END {printf "%.0f %.2f %.2f\n", rps, p99, (n > 0 ? ticks * 1e6 / hz / n : 0)}' <<<"$out")
  echo "$line" >>"$RUN/$2.$1.runs"
  read -r rps p99 cpu <<<"$line"
  printf '  pair %d  %-16s %8s req/s  p99 %7s ms  %7s us cpu/req\n' "$3" "$1" "$rps" "$p99" "$cpu"
}

# block TARGET BASE GOAL: warm both up, then ROUNDS ABBA pairs. GOAL: the target's req/s ratio, or - for none.
block() {
  local b=${#BLOCKS[@]} r
  BLOCKS+=("$1 $2 $3")
  echo "block $((b + 1)): $1 vs $2"
  "${LOAD_ON[@]}" wrk -t"$WRK_THREADS" -c"$CONNS" -d"$WARMUP" "${URL[$2]}" >/dev/null
  "${LOAD_ON[@]}" wrk -t"$WRK_THREADS" -c"$CONNS" -d"$WARMUP" "${URL[$1]}" >/dev/null
  for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then measure "$2" "$b" "$r"; measure "$1" "$b" "$r"
    else measure "$1" "$b" "$r"; measure "$2" "$b" "$r"; fi
  done
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# perpair BLOCK TARGET BASE FIELD: the pair-by-pair ratios of FIELD (1 req/s: TARGET/BASE; 3 cpu: BASE/TARGET).
perpair() {
  paste -d' ' "$RUN/$1.$2.runs" "$RUN/$1.$3.runs" | awk -v f="$4" '{ a = $f; b = $(f + 3); print (f == 1 ? (b > 0 ? a / b : 0) : (a > 0 ? b / a : 0)) }'
}

# report TITLE: the medians of every block, its per-pair ratios, and one verdict line per block.
report() {
  local b t base goal rr cx
  echo "$1"
  echo "medians per block (cpu x: the baseline's CPU per request / the target's, >1 is cheaper):"
  printf '  %-34s %9s %8s %10s %11s %9s\n' "target vs baseline" req/s p99-ms "base req/s" "cpu-us/req" "base cpu"
  for b in "${!BLOCKS[@]}"; do
    read -r t base goal <<<"${BLOCKS[$b]}"
    printf '  %-34s %9s %8s %10s %11s %9s\n' "$t vs $base" "$(cut -d' ' -f1 "$RUN/$b.$t.runs" | median)" "$(cut -d' ' -f2 "$RUN/$b.$t.runs" | median)" \
      "$(cut -d' ' -f1 "$RUN/$b.$base.runs" | median)" "$(cut -d' ' -f3 "$RUN/$b.$t.runs" | median)" "$(cut -d' ' -f3 "$RUN/$b.$base.runs" | median)"
  done
  for b in "${!BLOCKS[@]}"; do
    read -r t base goal <<<"${BLOCKS[$b]}"
    rr=$(perpair "$b" "$t" "$base" 1 | median | xargs printf '%.2f')
    cx=$(perpair "$b" "$t" "$base" 3 | median | xargs printf '%.2f')
    printf '  %s: %sx %s req/s (per pair:%s), %sx by CPU per request; %s\n' "$t" "$rr" "$base" \
      "$(perpair "$b" "$t" "$base" 1 | xargs printf ' %.2f')" "$cx" "$([ "$goal" = - ] && echo "no target" || echo "target >= ${goal}x")"
  done
  [ "${BENCH_QUICK:-0}" = 1 ] && echo "(quick run: figures are not meaningful)"
  return 0
}
