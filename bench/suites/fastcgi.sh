#!/usr/bin/env bash
# FastCGI: the same 13-byte hello behind one nginx (1 worker), in one run, alternating rounds:
#   tsgi-fcgi        tsgi's FastCGI listener, a connection per request (nginx's default)
#   tsgi-fcgi-keep   the same with fastcgi_keep_conn on + upstream keepalive
#   php-fpm          PHP-FPM, pm = static, 2 children (Debian php-fpm), a connection per request
#   node-fastcgi     the node-fastcgi npm package, a connection per request
#   proxy-http       nginx proxy_pass to tsgi's own node:http listener, a connection per request
#   proxy-http-keep  the same with upstream keepalive
# Prints median req/s and p99 per backend and the ratios of tsgi-fcgi and tsgi-fcgi-keep to the
# baselines; each proxy_pass row is compared with the FastCGI row that reuses connections alike.
# Targets: >= 1.0x php-fpm, >= 1.5x node-fastcgi, faster than proxy_pass.
# BENCH_QUICK=1: one short round (CI: proves the script runs; its figures mean nothing).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
unset NODE_EXTRA_CA_CERTS
if [ "${BENCH_QUICK:-0}" = 1 ]; then ROUNDS=1 DURATION=1s WARMUP=1s; else ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-8s} WARMUP=${WARMUP:-2s}; fi
CONNS=${CONNS:-50}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
PHP_FPM=$(command -v php-fpm8.2 || command -v php-fpm || ls /usr/sbin/php-fpm* 2>/dev/null | head -1 || true)
for t in wrk "$NGINX" "$PHP_FPM"; do [ -n "$t" ] && command -v "$t" >/dev/null || { echo "fastcgi: $t not found (apt-get install wrk nginx php-fpm)" >&2; exit 1; }; done
[ -f node_modules/node-fastcgi/package.json ] || { echo "fastcgi: npm package node-fastcgi missing (npm install)" >&2; exit 1; }

RUN=$(mktemp -d /tmp/tsgi-bench-fastcgi.XXXXXX)
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
bg() { local name=$1; shift; setsid "$@" >"$RUN/$name.log" 2>&1 </dev/null & PIDS+=($!); }
render() {  # render IN OUT: @RUN@ @ROOT@ and the @P_*@/@HTTP_PORT@ ports
  sed -e "s|@RUN@|$RUN|g" -e "s|@ROOT@|$ROOT|g" -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
      -e "s|@P_TSGI@|${PORT[tsgi-fcgi]}|g" -e "s|@P_TSGI_KEEP@|${PORT[tsgi-fcgi-keep]}|g" -e "s|@P_PHP@|${PORT[php-fpm]}|g" \
      -e "s|@P_NODEFCGI@|${PORT[node-fastcgi]}|g" -e "s|@P_PROXY@|${PORT[proxy-http]}|g" -e "s|@P_PROXY_KEEP@|${PORT[proxy-http-keep]}|g" "$1" >"$2"
}

ORDER=(tsgi-fcgi tsgi-fcgi-keep php-fpm node-fastcgi proxy-http proxy-http-keep)
declare -A PORT
for n in "${ORDER[@]}"; do PORT[$n]=$(free_port); done
HTTP_PORT=$(free_port)

bg tsgi-fcgi node bench/fastcgi/hello.mjs fastcgi "$RUN/tsgi.sock"
bg tsgi-http node bench/fastcgi/hello.mjs http "$HTTP_PORT"
bg node-fastcgi node bench/fastcgi/node-fastcgi.cjs "$RUN/node-fcgi.sock"
render bench/fastcgi/php-fpm.conf.in "$RUN/php-fpm.conf"
bg php-fpm "$PHP_FPM" -F -R -y "$RUN/php-fpm.conf"
for s in tsgi.sock node-fcgi.sock php-fpm.sock; do
  for _ in $(seq 100); do [ -S "$RUN/$s" ] && break; sleep 0.1; done
done
render bench/fastcgi/nginx.conf.in "$RUN/nginx.conf"
bg nginx "$NGINX" -e "$RUN/nginx-error.log" -p "$RUN/" -c "$RUN/nginx.conf"

for n in "${ORDER[@]}"; do
  ok=
  for _ in $(seq 100); do
    if [ "$(curl -s "http://127.0.0.1:${PORT[$n]}/" 2>/dev/null)" = "Hello, World!" ]; then ok=1; break; fi
    sleep 0.1
  done
  [ -n "$ok" ] || { echo "fastcgi: $n does not answer Hello, World!" >&2; for f in "$RUN"/*.log; do echo "== $f"; tail -n 5 "$f"; done >&2; exit 1; }
done

measure() {  # measure NAME: warm-up, one wrk run; appends "req/s p99ms" to $RUN/NAME.runs
  local url="http://127.0.0.1:${PORT[$1]}/" out
  wrk -t2 -c"$CONNS" -d"$WARMUP" "$url" >/dev/null
  out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency "$url")
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "fastcgi: $1 had errors:" >&2; grep "Non-2xx\|Socket errors" <<<"$out" >&2; fi
  awk '/Requests\/sec/ {rps=$2} /^ +99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; p99=v}
       END {printf "%.0f %.2f\n", rps, p99}' <<<"$out" >>"$RUN/$1.runs"
}
for r in $(seq "$ROUNDS"); do
  for n in "${ORDER[@]}"; do measure "$n"; done
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
declare -A RPS P99
for n in "${ORDER[@]}"; do
  RPS[$n]=$(cut -d' ' -f1 "$RUN/$n.runs" | median)
  P99[$n]=$(cut -d' ' -f2 "$RUN/$n.runs" | median)
done
echo "fastcgi: hello behind nginx (1 worker), wrk -t2 -c$CONNS -d$DURATION, $ROUNDS alternating round(s), medians"
printf '%-16s %10s %9s\n' backend req/s p99-ms
for n in "${ORDER[@]}"; do printf '%-16s %10s %9s\n' "$n" "${RPS[$n]}" "${P99[$n]}"; done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
for t in tsgi-fcgi tsgi-fcgi-keep; do
  p=proxy-http; [ "$t" = tsgi-fcgi-keep ] && p=proxy-http-keep
  echo "$t: $(ratio "${RPS[$t]}" "${RPS[php-fpm]}")x php-fpm (target >= 1.0), $(ratio "${RPS[$t]}" "${RPS[node-fastcgi]}")x node-fastcgi (target >= 1.5), $(ratio "${RPS[$t]}" "${RPS[$p]}")x $p (target > 1.0)"
done
if [ -s "$RUN/nginx-error.log" ]; then echo "nginx logged $(grep -c . "$RUN/nginx-error.log") line(s), e.g.:"; head -3 "$RUN/nginx-error.log"; fi
