#!/usr/bin/env bash
# uwsgi: the same 13-byte hello behind one nginx (1 worker), in one run, alternating rounds:
#   tsgi-uwsgi       tsgi serve --uwsgi (one node process), uwsgi_pass on a unix socket
#   tsgi-uwsgi-w2    tsgi serve --uwsgi --workers 2 (a master and 2 workers on one socket)
#   tsgi-fcgi        tsgi serve --fastcgi, a connection per request (left out if not built)
#   tsgi-fcgi-keep   the same with fastcgi_keep_conn on + upstream keepalive
#   uwsgi-py         uWSGI + python3 plugin, 2 processes (the anchor baseline's setup)
#   uwsgi-py-1       the same with 1 process (one core's worth, like tsgi's one process)
# Prints median req/s, p99 and server CPU per request (utime+stime of the backend's whole
# process group from /proc, over the measured run: steadier than req/s on a shared VM) per
# backend, and the ratios of tsgi-uwsgi(-w2) to each.
# Targets: tsgi uwsgi >= 1.0x uwsgi-py (same process count) and >= 1.0x tsgi-fcgi.
# BENCH_QUICK=1: one short round (CI: proves the script runs; its figures mean nothing).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
unset NODE_EXTRA_CA_CERTS
if [ "${BENCH_QUICK:-0}" = 1 ]; then ROUNDS=1 DURATION=1s WARMUP=1s; else ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-8s} WARMUP=${WARMUP:-2s}; fi
CONNS=${CONNS:-50}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
for t in wrk "$NGINX" uwsgi curl; do command -v "$t" >/dev/null || { echo "uwsgi: $t not found (apt-get install wrk nginx uwsgi uwsgi-plugin-python3 curl)" >&2; exit 1; }; done
[ -f dist/adapters/uwsgi/index.js ] && [ -f dist/src/cli/tsgi.js ] || { echo "uwsgi: dist/ not built (npm run build)" >&2; exit 1; }

RUN=$(mktemp -d /tmp/tsgi-bench-uwsgi.XXXXXX)
chmod 755 "$RUN"
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
# setsid: each backend leads its own process group, whose CPU time cpu_ticks sums.
bg() { local name=$1; shift; setsid "$@" >"$RUN/$name.log" 2>&1 </dev/null & PIDS+=($!); PGID[$name]=$!; }
cpu_ticks() {  # utime + stime (clock ticks) of every process in group $1
  local t=0 p v
  for p in $(pgrep -g "$1"); do
    v=$(awk '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " "); print f[12] + f[13] }' "/proc/$p/stat" 2>/dev/null) || v=0
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
HZ=$(getconf CLK_TCK)

ORDER=(tsgi-uwsgi tsgi-uwsgi-w2 tsgi-fcgi tsgi-fcgi-keep uwsgi-py uwsgi-py-1)
HAVE_FCGI=1
[ -f dist/adapters/fastcgi/index.js ] || { HAVE_FCGI=0; ORDER=(tsgi-uwsgi tsgi-uwsgi-w2 uwsgi-py uwsgi-py-1); echo "uwsgi: tsgi's FastCGI listener is not built; comparing without it" >&2; }
declare -A PORT PGID
used=" "
for n in tsgi-uwsgi tsgi-uwsgi-w2 tsgi-fcgi tsgi-fcgi-keep uwsgi-py uwsgi-py-1; do
  p=$(free_port)
  while [[ $used == *" $p "* ]]; do p=$(free_port); done  # a released port can come back at once
  PORT[$n]=$p used+="$p "
done
render() {  # render IN OUT [NAME PROCS]
  sed -e "s|@RUN@|$RUN|g" -e "s|@ROOT@|$ROOT|g" -e "s|@NAME@|${3:-}|g" -e "s|@PROCS@|${4:-}|g" \
      -e "s|@P_TSGI_UWSGI@|${PORT[tsgi-uwsgi]}|g" -e "s|@P_TSGI_UWSGI_W2@|${PORT[tsgi-uwsgi-w2]}|g" -e "s|@P_TSGI_FCGI@|${PORT[tsgi-fcgi]}|g" \
      -e "s|@P_TSGI_FCGI_KEEP@|${PORT[tsgi-fcgi-keep]}|g" -e "s|@P_UWSGI_PY@|${PORT[uwsgi-py]}|g" \
      -e "s|@P_UWSGI_PY_1@|${PORT[uwsgi-py-1]}|g" "$1" >"$2"
}

TSGI=(node dist/src/cli/tsgi.js serve bench/uwsgi/app.mjs --socket-mode 666)
bg tsgi-uwsgi "${TSGI[@]}" --uwsgi "$RUN/tsgi-uwsgi.sock"
bg tsgi-uwsgi-w2 "${TSGI[@]}" --uwsgi "$RUN/tsgi-uwsgi-w2.sock" --workers 2
socks=(tsgi-uwsgi tsgi-uwsgi-w2 uwsgi-py uwsgi-py-1)
if [ $HAVE_FCGI = 1 ]; then bg tsgi-fcgi "${TSGI[@]}" --fastcgi "$RUN/tsgi-fcgi.sock"; socks+=(tsgi-fcgi); PGID[tsgi-fcgi-keep]=${PGID[tsgi-fcgi]}; fi
render bench/uwsgi/uwsgi.ini.in "$RUN/uwsgi-py.ini" uwsgi-py 2
render bench/uwsgi/uwsgi.ini.in "$RUN/uwsgi-py-1.ini" uwsgi-py-1 1
bg uwsgi-py uwsgi --ini "$RUN/uwsgi-py.ini"
bg uwsgi-py-1 uwsgi --ini "$RUN/uwsgi-py-1.ini"
for s in "${socks[@]}"; do
  for _ in $(seq 100); do [ -S "$RUN/$s.sock" ] && break; sleep 0.1; done
done
render bench/uwsgi/nginx.conf.in "$RUN/nginx.conf"
bg nginx "$NGINX" -e "$RUN/nginx-error.log" -p "$RUN/" -c "$RUN/nginx.conf"

for n in "${ORDER[@]}"; do
  ok=
  for _ in $(seq 100); do
    if [ "$(curl -s "http://127.0.0.1:${PORT[$n]}/" 2>/dev/null)" = "Hello, World!" ]; then ok=1; break; fi
    sleep 0.1
  done
  [ -n "$ok" ] || { echo "uwsgi: $n does not answer Hello, World!" >&2; for f in "$RUN"/*.log; do echo "== $f"; tail -n 5 "$f"; done >&2; exit 1; }
done

measure() {  # measure NAME: warm-up, one wrk run; appends "req/s p99ms cpu-us/req" to $RUN/NAME.runs
  local url="http://127.0.0.1:${PORT[$1]}/" out t0 t1
  wrk -t2 -c"$CONNS" -d"$WARMUP" "$url" >/dev/null
  t0=$(cpu_ticks "${PGID[$1]}")
  out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency "$url")
  t1=$(cpu_ticks "${PGID[$1]}")
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "uwsgi: $1 had errors:" >&2; grep "Non-2xx\|Socket errors" <<<"$out" >&2; fi
  awk -v ticks=$((t1 - t0)) -v hz="$HZ" '/requests in/ {n=$1} /Requests\/sec/ {rps=$2} /^ +99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; p99=v}
       END {printf "%.0f %.2f %.1f\n", rps, p99, (n > 0 ? ticks * 1e6 / hz / n : 0)}' <<<"$out" >>"$RUN/$1.runs"
}
for r in $(seq "$ROUNDS"); do
  for n in "${ORDER[@]}"; do measure "$n"; done
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
declare -A RPS P99 CPU
for n in "${ORDER[@]}"; do
  RPS[$n]=$(cut -d' ' -f1 "$RUN/$n.runs" | median)
  P99[$n]=$(cut -d' ' -f2 "$RUN/$n.runs" | median)
  CPU[$n]=$(cut -d' ' -f3 "$RUN/$n.runs" | median)
done
echo "uwsgi: hello behind nginx (1 worker), wrk -t2 -c$CONNS -d$DURATION, $ROUNDS alternating round(s), medians"
printf '%-16s %10s %9s %12s\n' backend req/s p99-ms cpu-us/req
for n in "${ORDER[@]}"; do printf '%-16s %10s %9s %12s\n' "$n" "${RPS[$n]}" "${P99[$n]}" "${CPU[$n]}"; done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
echo "ratios: req/s a/b; cpu: b's CPU per request / a's (>1: a is cheaper)"
both() { echo "$(ratio "${RPS[$1]}" "${RPS[$2]}")x req/s, $(ratio "${CPU[$2]}" "${CPU[$1]}")x cpu"; }
echo "tsgi-uwsgi-w2 vs uwsgi-py (2 processes each; target >= 1.0): $(both tsgi-uwsgi-w2 uwsgi-py)"
echo "tsgi-uwsgi vs uwsgi-py-1 (1 process each): $(both tsgi-uwsgi uwsgi-py-1); vs uwsgi-py: $(both tsgi-uwsgi uwsgi-py)"
if [ $HAVE_FCGI = 1 ]; then
  echo "tsgi-uwsgi vs tsgi-fcgi (target >= 1.0): $(both tsgi-uwsgi tsgi-fcgi); vs tsgi-fcgi-keep: $(both tsgi-uwsgi tsgi-fcgi-keep)"
fi
if [ -s "$RUN/nginx-error.log" ]; then echo "nginx logged $(grep -c . "$RUN/nginx-error.log") line(s), e.g.:"; head -3 "$RUN/nginx-error.log"; fi
