#!/usr/bin/env bash
# FastCGI: the same 13-byte hello behind one nginx (1 worker), measured as bench/lib.sh says (a
# block per target against its baseline, ABBA pairs, medians of the per-pair ratios; CPU per
# request is the backend's whole process group, nginx not counted):
#   tsgi-fcgi        tsgi's FastCGI listener, a connection per request (nginx's default)
#   tsgi-fcgi-keep   the same with fastcgi_keep_conn on + upstream keepalive
#   php-fpm          PHP-FPM, pm = static, 2 children (Debian php-fpm), a connection per request
#   node-fastcgi     the node-fastcgi npm package, a connection per request
#   proxy-http       nginx proxy_pass to tsgi's own node:http listener, a connection per request
#   proxy-http-keep  the same with upstream keepalive
# Targets: >= 1.0x php-fpm, >= 1.5x node-fastcgi, faster than proxy_pass (each proxy_pass row
# against the FastCGI row that reuses connections alike).
# BENCH_QUICK=1: one short round per block (CI: proves the script runs; figures mean nothing).
SUITE=fastcgi
cd "$(dirname "$0")/../.."
ROOT=$PWD
source bench/lib.sh
unset NODE_EXTRA_CA_CERTS
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
PHP_FPM=$(command -v php-fpm8.2 || command -v php-fpm || ls /usr/sbin/php-fpm* 2>/dev/null | head -1 || true)
[ -n "$PHP_FPM" ] || { echo "fastcgi: php-fpm not found (apt-get install php-fpm)" >&2; exit 1; }
need wrk curl "$NGINX" "$PHP_FPM"
[ -f node_modules/node-fastcgi/package.json ] || { echo "fastcgi: npm package node-fastcgi missing (npm install)" >&2; exit 1; }
bench_init

NAMES=(tsgi-fcgi tsgi-fcgi-keep php-fpm node-fastcgi proxy-http proxy-http-keep)
free_ports "${NAMES[@]}" tsgi-http
render() {  # render IN OUT: @RUN@ @ROOT@ and the @P_*@/@HTTP_PORT@ ports
  sed -e "s|@RUN@|$RUN|g" -e "s|@ROOT@|$ROOT|g" -e "s|@HTTP_PORT@|${PORT[tsgi-http]}|g" \
      -e "s|@P_TSGI@|${PORT[tsgi-fcgi]}|g" -e "s|@P_TSGI_KEEP@|${PORT[tsgi-fcgi-keep]}|g" -e "s|@P_PHP@|${PORT[php-fpm]}|g" \
      -e "s|@P_NODEFCGI@|${PORT[node-fastcgi]}|g" -e "s|@P_PROXY@|${PORT[proxy-http]}|g" -e "s|@P_PROXY_KEEP@|${PORT[proxy-http-keep]}|g" "$1" >"$2"
}

bg tsgi-fcgi node bench/fastcgi/hello.mjs fastcgi "$RUN/tsgi.sock"
bg tsgi-http node bench/fastcgi/hello.mjs http "${PORT[tsgi-http]}"
bg node-fastcgi node bench/fastcgi/node-fastcgi.cjs "$RUN/node-fcgi.sock"
render bench/fastcgi/php-fpm.conf.in "$RUN/php-fpm.conf"
bg php-fpm "$PHP_FPM" -F -R -y "$RUN/php-fpm.conf"
GROUP[tsgi-fcgi-keep]=${GROUP[tsgi-fcgi]} GROUP[proxy-http]=${GROUP[tsgi-http]} GROUP[proxy-http-keep]=${GROUP[tsgi-http]}
wait_socket "$RUN"/{tsgi,node-fcgi,php-fpm}.sock
render bench/fastcgi/nginx.conf.in "$RUN/nginx.conf"
bg nginx "$NGINX" -e "$RUN/nginx-error.log" -p "$RUN/" -c "$RUN/nginx.conf"
for n in "${NAMES[@]}"; do URL[$n]="http://127.0.0.1:${PORT[$n]}/"; done
wait_hello "${NAMES[@]}"

echo "fastcgi: hello behind nginx (1 worker), wrk -t2 -c$CONNS -d$DURATION, $ROUNDS ABBA pair(s) per target after a $WARMUP warm-up"
block tsgi-fcgi php-fpm 1.0
block tsgi-fcgi node-fastcgi 1.5
block tsgi-fcgi proxy-http 1.0
block tsgi-fcgi-keep proxy-http-keep 1.0
report "fastcgi: tsgi's FastCGI listener vs PHP-FPM, node-fastcgi and nginx proxy_pass, behind nginx"
if [ -s "$RUN/nginx-error.log" ]; then echo "nginx logged $(grep -c . "$RUN/nginx-error.log") line(s), e.g.:"; head -3 "$RUN/nginx-error.log"; fi
