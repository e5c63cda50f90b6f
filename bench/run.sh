#!/usr/bin/env bash
# `npm run bench [-- --quick] [suite ...]`: runs each suite in bench/suites (all by default).
# Each suite starts tsgi and its baselines in the same run, loads them with wrk in alternating
# rounds and prints req/s, p99 and ratios. --quick (used by CI) runs one short round each, so
# the scripts cannot rot; its figures mean nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_QUICK=0
suites=()
for a in "$@"; do
  case "$a" in
    --quick) BENCH_QUICK=1 ;;
    -*) echo "bench: unknown flag $a (known: --quick)" >&2; exit 2 ;;
    *) suites+=("bench/suites/$a.sh") ;;
  esac
done
[ ${#suites[@]} -gt 0 ] || suites=(bench/suites/*.sh)
[ -f dist/src/index.js ] || npm run build
unset NODE_EXTRA_CA_CERTS  # adds ~55 ms to every node start; web servers don't pass it either
status=0
for s in "${suites[@]}"; do
  [ -f "$s" ] || { echo "bench: no suite $s" >&2; exit 2; }
  echo "=== $(basename "$s" .sh)"
  bash "$s" || { echo "bench: suite $s failed" >&2; status=1; }
done
exit $status
