#!/usr/bin/env bash
# uwsgi: the same 13-byte hello behind one nginx (1 worker), measured as bench/lib.sh says (a
# block per target against its baseline, ABBA pairs, medians of the per-pair ratios; CPU per
# request is the backend's whole process group, nginx not counted):
#   tsgi-uwsgi       tsgi serve --uwsgi (one node process), uwsgi_pass on a unix socket
#   tsgi-uwsgi-w2    tsgi serve --uwsgi --workers 2 (a master and 2 workers on one socket)
#   tsgi-fcgi        tsgi serve --fastcgi, a connection per request
#   tsgi-fcgi-keep   the same with fastcgi_keep_conn on + upstream keepalive
#   uwsgi-py         uWSGI + python3 plugin, 2 processes (the anchor baseline's setup)
#   uwsgi-py-1       the same with 1 process (one core's worth, like tsgi's one process)
#   node-floor       no tsgi: one node process that answers each connection with a fixed hello
#                    on the raw handle (bench/uwsgi/floor.mjs), the ceiling for any Node backend
# Targets: tsgi uwsgi >= 1.0x uWSGI+Python with as many processes, and >= 1.0x tsgi-fcgi.
# BENCH_QUICK=1: one short round per block (CI: proves the script runs; figures mean nothing).
# 12 pairs per block, not lib.sh's 6: with four busy processes on two cores single pairs of the
# two-worker block range 0.80-1.30, and medians of 6 moved 0.95-1.13 from run to run (2026-12-06).
SUITE=uwsgi
ROUNDS=${ROUNDS:-12}
cd "$(dirname "$0")/../.."
ROOT=$PWD
source bench/lib.sh
unset NODE_EXTRA_CA_CERTS
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
need wrk curl "$NGINX" uwsgi
[ -f dist/adapters/uwsgi/index.js ] && [ -f dist/adapters/fastcgi/index.js ] && [ -f dist/src/cli/tsgi.js ] || { echo "uwsgi: dist/ not built (npm run build)" >&2; exit 1; }
bench_init

NAMES=(tsgi-uwsgi tsgi-uwsgi-w2 tsgi-fcgi tsgi-fcgi-keep uwsgi-py uwsgi-py-1 node-floor)
free_ports "${NAMES[@]}"
render() {  # render IN OUT [NAME PROCS]
  sed -e "s|@RUN@|$RUN|g" -e "s|@ROOT@|$ROOT|g" -e "s|@NAME@|${3:-}|g" -e "s|@PROCS@|${4:-}|g" \
      -e "s|@P_TSGI_UWSGI@|${PORT[tsgi-uwsgi]}|g" -e "s|@P_TSGI_UWSGI_W2@|${PORT[tsgi-uwsgi-w2]}|g" -e "s|@P_TSGI_FCGI@|${PORT[tsgi-fcgi]}|g" \
      -e "s|@P_TSGI_FCGI_KEEP@|${PORT[tsgi-fcgi-keep]}|g" -e "s|@P_UWSGI_PY@|${PORT[uwsgi-py]}|g" \
      -e "s|@P_UWSGI_PY_1@|${PORT[uwsgi-py-1]}|g" -e "s|@P_NODE_FLOOR@|${PORT[node-floor]}|g" "$1" >"$2"
}

TSGI=(node dist/src/cli/tsgi.js serve bench/uwsgi/app.mjs --socket-mode 666)
bg tsgi-uwsgi "${TSGI[@]}" --uwsgi "$RUN/tsgi-uwsgi.sock"
bg tsgi-uwsgi-w2 "${TSGI[@]}" --uwsgi "$RUN/tsgi-uwsgi-w2.sock" --workers 2
bg tsgi-fcgi "${TSGI[@]}" --fastcgi "$RUN/tsgi-fcgi.sock"
bg node-floor node bench/uwsgi/floor.mjs "$RUN/node-floor.sock"
GROUP[tsgi-fcgi-keep]=${GROUP[tsgi-fcgi]}
render bench/uwsgi/uwsgi.ini.in "$RUN/uwsgi-py.ini" uwsgi-py 2
render bench/uwsgi/uwsgi.ini.in "$RUN/uwsgi-py-1.ini" uwsgi-py-1 1
bg uwsgi-py uwsgi --ini "$RUN/uwsgi-py.ini"
bg uwsgi-py-1 uwsgi --ini "$RUN/uwsgi-py-1.ini"
wait_socket "$RUN"/{tsgi-uwsgi,tsgi-uwsgi-w2,tsgi-fcgi,uwsgi-py,uwsgi-py-1,node-floor}.sock
render bench/uwsgi/nginx.conf.in "$RUN/nginx.conf"
bg nginx "$NGINX" -e "$RUN/nginx-error.log" -p "$RUN/" -c "$RUN/nginx.conf"
for n in "${NAMES[@]}"; do URL[$n]="http://127.0.0.1:${PORT[$n]}/"; done
wait_hello "${NAMES[@]}"

echo "uwsgi: hello behind nginx (1 worker), wrk -t2 -c$CONNS -d$DURATION, $ROUNDS ABBA pair(s) per target after a $WARMUP warm-up"
block tsgi-uwsgi-w2 uwsgi-py 1.0
block tsgi-uwsgi uwsgi-py-1 1.0
block tsgi-uwsgi tsgi-fcgi 1.0
block tsgi-uwsgi tsgi-fcgi-keep -
block node-floor uwsgi-py-1 -
report "uwsgi: tsgi's uwsgi listener vs uWSGI+Python and tsgi's FastCGI listener, behind nginx"
if [ -s "$RUN/nginx-error.log" ]; then echo "nginx logged $(grep -c . "$RUN/nginx-error.log") line(s), e.g.:"; head -3 "$RUN/nginx-error.log"; fi
