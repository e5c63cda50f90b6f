#!/usr/bin/env bash
# CGI: what one request costs when every request is a new process.
#   startup   hyperfine -N: each script run directly (kernel #!), in the clean environment a web
#             server gives a CGI script (env -i plus the CGI variables; no NODE_EXTRA_CA_CERTS)
#   apache    wrk -t2 -c4 through Apache (prefork + mod_cgi, examples/deploy/apache-cgi.conf)
# Scripts (bench/cgi/): cgi-run hello.ts (warm cache), the same app as plain .js under node
# (tsgi's runCgi, no transpiling), hello.ts under Bun via adapters/cgi/cgi-run-bun.js (the documented #! line),
# raw JS CGIs with no tsgi under node and bun (each runtime's floor), Python wsgiref
# CGIHandler, and a shell hello. Rounds alternate; ratios are within one run.
# Targets: cgi-run warm <= 1.1x plain .js start-up; under Bun faster than the Python CGI.
# BENCH_QUICK=1: one very short round (CI: proves the script runs; its figures mean nothing).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
unset NODE_EXTRA_CA_CERTS
if [ "${BENCH_QUICK:-0}" = 1 ]; then ROUNDS=1 RUNS=5 DURATION=1s; else ROUNDS=${ROUNDS:-3} RUNS=${RUNS:-40} DURATION=${DURATION:-8s}; fi
for t in wrk hyperfine apache2 python3; do command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || { echo "cgi: $t not found (apt-get install wrk hyperfine apache2 python3)" >&2; exit 1; }; done
[ -f dist/src/cli/cgi-run.js ] || npm run build >/dev/null
BUN=$ROOT/node_modules/.bin/bun
APACHE=$(command -v apache2 || echo /usr/sbin/apache2)

RUN=$(mktemp -d /tmp/tsgi-bench-cgi.XXXXXX)
chmod 755 "$RUN"
APACHE_PID=
cleanup() {
  [ -n "$APACHE_PID" ] && kill -TERM "$APACHE_PID" 2>/dev/null && wait "$APACHE_PID" 2>/dev/null || true
  rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A cgi-bin the web server's user can read, cgi-run on the scripts' PATH (a temp bin, not the
# machine's), and a cache folder that user owns.
CGIBIN=$RUN/cgi-bin BIN=$RUN/bin CACHE=$RUN/cache
mkdir -p "$CGIBIN" "$BIN" "$CACHE" "$RUN/apache"
chmod 755 "$CGIBIN" "$BIN" "$RUN/apache"
# A private copy of tsgi (as npm would install it), so a rebuild of the checkout during the run
# cannot change what is measured.
TSGI=$RUN/tsgi
mkdir -p "$TSGI"
cp -r dist src adapters package.json "$TSGI/"
ln -s "$ROOT/node_modules" "$TSGI/node_modules"
chmod -R a+rX "$TSGI"
chmod 755 "$TSGI/adapters/cgi/cgi-run-node.cjs"
ln -s "$TSGI/adapters/cgi/cgi-run-node.cjs" "$BIN/cgi-run"  # package.json's "bin"
WEBUSER=
if [ "$(id -u)" = 0 ]; then WEBUSER=www-data; chown "$WEBUSER:" "$CACHE" "$RUN/apache"; fi
subst() { sed -e "s|@ROOT@|$TSGI|g" -e "s|@BUN@|$BUN|g" -e "s|@CACHE@|$CACHE|g" "$1" >"$2"; }
cp bench/cgi/hello.ts bench/cgi/hello-wsgi.cgi bench/cgi/hello-sh.cgi bench/cgi/hello-node.cgi "$CGIBIN/"
subst bench/cgi/hello-plain.mjs.in "$CGIBIN/hello-plain.mjs"
subst bench/cgi/hello-bun.ts.in "$CGIBIN/hello-bun.ts"
subst bench/cgi/hello-bun-raw.js.in "$CGIBIN/hello-bun-raw.js"
chmod 755 "$CGIBIN"/*
SCRIPT_PATH=$BIN:/usr/local/bin:/usr/bin:/bin

NAMES=(cgi-run-ts plain-js bun-ts raw-node raw-bun python-wsgi sh)
declare -A FILE=([cgi-run-ts]=hello.ts [plain-js]=hello-plain.mjs [bun-ts]=hello-bun.ts [raw-node]=hello-node.cgi [raw-bun]=hello-bun-raw.js [python-wsgi]=hello-wsgi.cgi [sh]=hello-sh.cgi)

as_web() { if [ -n "$WEBUSER" ]; then setpriv --reuid="$WEBUSER" --regid="$WEBUSER" --init-groups "$@"; else "$@"; fi; }
cgi_env() {  # the environment Apache gives a CGI script for GET /cgi-bin/$1
  echo env -i PATH="$SCRIPT_PATH" TSGI_CACHE_DIR="$CACHE" GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 \
    REQUEST_METHOD=GET SCRIPT_NAME="/cgi-bin/$1" SCRIPT_FILENAME="$CGIBIN/$1" QUERY_STRING= REQUEST_URI="/cgi-bin/$1" \
    SERVER_NAME=127.0.0.1 SERVER_PORT=80 REMOTE_ADDR=127.0.0.1 SERVER_SOFTWARE=bench
}

# Every script must answer exactly the 13-byte hello (this also fills cgi-run's cache; Bun's front
# writes its bytecode build of the entry on the first warm start: hyperfine's warm-up runs).
for n in "${NAMES[@]}"; do
  out=$(as_web $(cgi_env "${FILE[$n]}") "$CGIBIN/${FILE[$n]}" | tr -d '\r' | tail -c 13)
  [ "$out" = "Hello, World!" ] || { echo "cgi: $n answered ${out@Q}, not the hello" >&2; exit 1; }
done

# --- start-up -------------------------------------------------------------------------------
echo "--- process start-up (hyperfine -N, $RUNS+ runs per round, $ROUNDS rounds, clean CGI env)"
for r in $(seq "$ROUNDS"); do
  args=()
  for n in "${NAMES[@]}"; do args+=(-n "$n" "$(cgi_env "${FILE[$n]}") $CGIBIN/${FILE[$n]}"); done
  [ -n "$WEBUSER" ] && args=() && for n in "${NAMES[@]}"; do
    args+=(-n "$n" "setpriv --reuid=$WEBUSER --regid=$WEBUSER --init-groups $(cgi_env "${FILE[$n]}") $CGIBIN/${FILE[$n]}")
  done
  hyperfine -N --warmup 3 --min-runs "$RUNS" --style none --export-json "$RUN/startup-$r.json" "${args[@]}" >"$RUN/hyperfine.log" 2>&1 || { cat "$RUN/hyperfine.log" >&2; exit 1; }
done

# --- through Apache -------------------------------------------------------------------------
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
A=$RUN/apache
{
  echo "ServerRoot /usr/lib/apache2"
  echo "ServerName 127.0.0.1"
  echo "Listen 127.0.0.1:$PORT"
  echo "PidFile $A/httpd.pid"
  echo "DefaultRuntimeDir $A"
  echo "ErrorLog $A/error.log"
  [ -n "$WEBUSER" ] && printf 'User %s\nGroup %s\n' "$WEBUSER" "$WEBUSER"
  echo "LoadModule mpm_prefork_module /usr/lib/apache2/modules/mod_mpm_prefork.so"
  echo "LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so"
  echo "KeepAlive On"
  echo "MaxKeepAliveRequests 0"
  sed -e "s|@CGIBIN@|$CGIBIN|g" -e "s|@PATH@|$SCRIPT_PATH|g" -e "s|@CACHE_DIR@|$CACHE|g" examples/deploy/apache-cgi.conf
} >"$A/httpd.conf"
setsid "$APACHE" -f "$A/httpd.conf" -DFOREGROUND >"$A/stdout.log" 2>&1 </dev/null &
APACHE_PID=$!
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/cgi-bin/hello-sh.cgi" && break; sleep 0.1; done
echo "--- through Apache prefork + mod_cgi (wrk -t2 -c4 -d$DURATION, $ROUNDS rounds)"
: >"$RUN/http.tsv"
for r in $(seq "$ROUNDS"); do
  for n in "${NAMES[@]}"; do
    url=http://127.0.0.1:$PORT/cgi-bin/${FILE[$n]}
    body=$(curl -s "$url")
    [ "$body" = "Hello, World!" ] || { echo "cgi: $n through Apache answered ${body@Q}" >&2; tail -5 "$A/error.log" >&2; exit 1; }
    wrk -t2 -c4 -d"$DURATION" --latency "$url" >"$RUN/wrk.txt" 2>&1 || true
    rps=$(awk '/Requests\/sec/ {print $2}' "$RUN/wrk.txt")
    p99=$(awk '$1=="99%" {print $2}' "$RUN/wrk.txt")
    non2xx=$(awk '/Non-2xx/ {print $NF}' "$RUN/wrk.txt")
    printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$r" "${rps:-0}" "${p99:-?}" "${non2xx:-0}" >>"$RUN/http.tsv"
  done
done

# --- report ---------------------------------------------------------------------------------
node - "$RUN" "${NAMES[@]}" <<'EOF'
const fs = require("fs");
const [run, ...names] = process.argv.slice(2);
const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const startup = {}, cpu = {};
for (const f of fs.readdirSync(run).filter((f) => f.startsWith("startup-"))) {
  for (const r of JSON.parse(fs.readFileSync(`${run}/${f}`, "utf8")).results) {
    (startup[r.command] ??= []).push(...r.times.map((t) => t * 1000));
    (cpu[r.command] ??= []).push((r.user + r.system) * 1000); // hyperfine gives the mean per round
  }
}
const ms = Object.fromEntries(names.map((n) => [n, median(startup[n] ?? [NaN])]));
const cms = Object.fromEntries(names.map((n) => [n, median(cpu[n] ?? [NaN])]));
// Wall time on a busy machine includes waiting for a core (worse for multi-threaded runtimes);
// CPU time (user + system, all threads) is the steadier figure.
console.log("start-up (median wall ms over all runs; CPU ms: median of the rounds' means):");
for (const n of names) console.log(`  ${n.padEnd(12)} ${ms[n].toFixed(1).padStart(7)} ms wall ${cms[n].toFixed(1).padStart(7)} ms CPU`);
const ratio = (a, b) => `${(ms[a] / ms[b]).toFixed(2)}x wall, ${(cms[a] / cms[b]).toFixed(2)}`;
console.log(`  ratio cgi-run-ts / plain-js  = ${ratio("cgi-run-ts", "plain-js")}x CPU   (target <= 1.10)`);
console.log(`  ratio cgi-run-ts / raw-node  = ${ratio("cgi-run-ts", "raw-node")}x CPU   (raw node CGI, no tsgi)`);
console.log(`  ratio bun-ts / python-wsgi   = ${ratio("bun-ts", "python-wsgi")}x CPU   (target < 1.00)`);
console.log(`  ratio bun-ts / raw-bun       = ${ratio("bun-ts", "raw-bun")}x CPU   (raw bun CGI, no tsgi)`);
console.log(`  ratio cgi-run-ts / python    = ${ratio("cgi-run-ts", "python-wsgi")}x CPU`);
const rows = fs.readFileSync(`${run}/http.tsv`, "utf8").trim().split("\n").map((l) => l.split("\t"));
const rps = {}, p99 = {};
for (const [n, , r, p, bad] of rows) {
  (rps[n] ??= []).push(Number(r));
  (p99[n] ??= []).push(p);
  if (bad !== "0") console.log(`  WARNING: ${n} had ${bad} non-2xx answers`);
}
console.log("through Apache prefork + mod_cgi (median req/s, p99 of each round):");
for (const n of names) console.log(`  ${n.padEnd(12)} ${median(rps[n]).toFixed(1).padStart(8)} req/s   p99 ${p99[n].join(" / ")}`);
const rr = (a, b) => (median(rps[a]) / median(rps[b])).toFixed(2);
console.log(`  ratio cgi-run-ts / plain-js  = ${rr("cgi-run-ts", "plain-js")}x req/s`);
console.log(`  ratio cgi-run-ts / python    = ${rr("cgi-run-ts", "python-wsgi")}x req/s`);
console.log(`  ratio bun-ts / python        = ${rr("bun-ts", "python-wsgi")}x req/s`);
EOF
