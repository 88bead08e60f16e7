# bench/load/suite.d/report.sh — sourced by bench/load/suite (not run on its own): the table of medians and ratios, the verdicts, and the record in bench/RESULTS.md and docs/bench-ratios.png.
# Shares the suite's shell: its variables ($work, $store, $conns, …) and helpers.

# ------------------------------------------------------------------------------------------------
# The table.
median() { sort -g | awk '{a[NR]=$1} END { if (NR) print a[int((NR+1)/2)]; else print 0 }'; }
col() {  # col S LABEL SERVER FIELD → values
  printf '%s\n' "${results[@]}" | awk -v s="$1" -v f="$2" -v v="$3" -v c="$4" '$1==s && $2==f && $3==v {print $c}'
}
percpu() {  # percpu S LABEL SERVER → median over the runs of req/s per core-second of the server's CPU
  printf '%s\n' "${results[@]}" | awk -v s="$1" -v f="$2" -v v="$3" '$1==s && $2==f && $3==v && $13 > 0 {print $5 * 100 / $13}' | median
}
fmt_k() { awk -v x="$1" 'BEGIN { if (x >= 10000) printf "%.1fk", x / 1000; else if (x >= 1000) printf "%.2fk", x / 1000; else printf "%.0f", x }'; }

raw="$work/raw.txt"
{
  printf '%-6s %-14s %-8s %3s %11s %9s %9s %9s %6s %6s %6s %9s %5s\n' shards flow server run req/s p50_ms p99_ms ok bad sock fedout fed cpu%
  for r in "${results[@]}"; do
    read -r a b c d e f g h i j k l m <<<"$r"
    printf '%-6s %-14s %-8s %3s %11s %9s %9s %9s %6s %6s %6s %9s %5s\n' "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h" "$i" "$j" "$k" "$l" "$m"
  done
} > "$raw"

table="$work/table.md"
chart_data="$work/chart.dat"
declare -A h1=() h2=()
{
  echo "| shards | flow | nginx req/s | handoff req/s | handoff / nginx | handoff p50 / p99 ms | nginx p50 / p99 ms | CPU % handoff / nginx | errors handoff / nginx | target | measured vs target basis | |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
} > "$table"
: > "$chart_data"
declare -A chart_r=() chart_b=()
labels=()
for s in $shards; do
  for fa in "${flow_list[@]}"; do
    flow=${fa%%-*} alg=${fa#*-}
    label=$flow
    [ "${sigs[$flow]}" -gt 0 ] && label="$flow-$alg"
    [[ " ${labels[*]} " == *" $label "* ]] || labels+=("$label")
    n=$(col "$s" "$label" nginx 5 | median)
    h=$(col "$s" "$label" handoff 5 | median)
    np50=$(col "$s" "$label" nginx 6 | median) np99=$(col "$s" "$label" nginx 7 | median)
    hp50=$(col "$s" "$label" handoff 6 | median) hp99=$(col "$s" "$label" handoff 7 | median)
    herr=$( (col "$s" "$label" handoff 9; col "$s" "$label" handoff 10) | awk '{n += $1} END {print n + 0}')
    nerr=$( (col "$s" "$label" nginx 9; col "$s" "$label" nginx 10) | awk '{n += $1} END {print n + 0}')
    ratio=$(awk -v h="$h" -v n="$n" 'BEGIN { if (n > 0) printf "%.3f", h / n; else print "-" }')
    chart_r[$s,$label]=$ratio
    [ "$s" = 1 ] && h1[$label]=$h
    [ "$s" = 2 ] && h2[$label]=$h
    k=${sigs[$flow]}
    target="" basis="" verdict=""
    if [ "$k" -gt 0 ]; then
      sps=$(col "$s" "$label" sign 5 | median)
      if [ "$sps" != 0 ]; then
        ceil=$(awk -v x="$sps" -v k="$k" 'BEGIN { printf "%.0f", x / k }')
        b=$(awk -v h="$h" -v c="$ceil" 'BEGIN { printf "%.3f", h / c }')
        cores="core 1"
        [ "$s" = 2 ] && cores="cores 0+1"
        target="≥ 0.8 × $(fmt_k "$ceil")/s ($alg sig/s on $cores ÷ $k)"
        bc=$(awk -v h="$(percpu "$s" "$label" handoff)" -v x="$sps" -v s="$s" -v k="$k" 'BEGIN { printf "%.2f", h / (x / s / k) }')
        basis="$b × ceiling; per CPU-second $bc"
        verdict=$(awk -v b="$b" 'BEGIN { print (b >= 0.8) ? "met" : "**missed**" }')
        chart_b[$s,$label]=$b
      else
        target="≥ 0.8 × $alg sig/s ÷ $k (no jwt_bench)"; basis="-"; chart_b[$s,$label]="-"
      fi
    else
      t=0.9; [ "$flow" = redeem ] && t=0.8
      target="≥ $t × nginx"
      [ "$flow" = redeem ] && target+=", p99 < 2 ms"
      rc=$(awk -v h="$(percpu "$s" "$label" handoff)" -v n="$(percpu "$s" "$label" nginx)" 'BEGIN { if (n > 0) printf "%.2f", h / n; else print "-" }')
      basis="$ratio × nginx; per CPU-second $rc"
      verdict=$(awk -v r="$ratio" -v t="$t" -v p="$hp99" -v f="$flow" 'BEGIN {
        m = (r >= t); if (f == "redeem" && p >= 2) m = 0; print m ? "met" : "**missed**" }')
      chart_b[$s,$label]=$ratio
    fi
    [ "$herr" != 0 ] && verdict="**ERRORS**"
    hk=$(fmt_k "$h")
    if [ "$s" = 2 ] && [ -n "${h1[$label]:-}" ]; then
      hk+=" ($(awk -v a="$h" -v b="${h1[$label]}" 'BEGIN { printf "%.2f", a / b }')× 1 shard)"
    fi
    hcpu=$(col "$s" "$label" handoff 13 | median) ncpu=$(col "$s" "$label" nginx 13 | median)
    printf '| %s | %s | %s | %s | %s | %.2f / %.2f | %.2f / %.2f | %s / %s | %s / %s | %s | %s | %s |\n' \
      "$s" "$label" "$(fmt_k "$n")" "$hk" "$ratio" "$hp50" "$hp99" "$np50" "$np99" "$hcpu" "$ncpu" "$herr" "$nerr" \
      "$target" "$basis" "$verdict" >> "$table"
  done
done
for l in "${labels[@]}"; do
  echo "$l ${chart_r[1,$l]:--} ${chart_r[2,$l]:--} ${chart_b[1,$l]:--} ${chart_b[2,$l]:--}" >> "$chart_data"
done

# The other targets: two shards vs one from the medians above, then the rows suite.d/targets.sh
# measured.
other="$work/other.md"
: > "$other"
verdict_of() {  # verdict_of MET TOTAL
  if [ "$1" = "$2" ]; then echo met; else echo "**missed** ($1 of $2 met)"; fi
}
if [ "${#h2[@]}" -gt 0 ] && [ "${#h1[@]}" -gt 0 ]; then
  got="" met=0 total=0
  for l in "${labels[@]}"; do
    [ -n "${h1[$l]:-}" ] && [ -n "${h2[$l]:-}" ] || continue
    x=$(awk -v a="${h2[$l]}" -v b="${h1[$l]}" 'BEGIN { printf "%.2f", a / b }')
    got+="${got:+, }$l $x"
    total=$((total + 1))
    awk -v x="$x" 'BEGIN { exit !(x >= 1.8) }' && met=$((met + 1))
  done
  echo "two shards ≥ 1.8 × one shard (here wrk shares the 2 cores)|the flows above|$got (2-shard ÷ 1-shard median req/s)|$(verdict_of $met $total)" >> "$other"
fi
[ -f "$work/targets.rows" ] && cat "$work/targets.rows" >> "$other"
other_table="$work/other-table.md"
{
  echo "| target | measured by | measured | |"
  echo "|---|---|---|---|"
  while IFS='|' read -r t c m v; do printf '| %s | %s | %s | %s |\n' "$t" "$c" "$m" "$v"; done < "$other"
} > "$other_table"

echo
echo "== every run"
cat "$raw"
echo
echo "== medians ($runs runs of ${secs}s, -c$conns)"
cat "$table"
if [ -s "$other" ]; then
  echo
  echo "== the other targets"
  cat "$other_table"
fi
if [ "${#notes[@]}" -gt 0 ]; then
  echo
  for n in "${notes[@]}"; do echo "note: $n"; done
fi
if [ "${#failures[@]}" -gt 0 ]; then
  echo
  echo "!!!!!!!! ERRORS — these runs had failed requests or a server misbehaved:" >&2
  for f in "${failures[@]}"; do echo "!!! $f" >&2; done
fi
elapsed=$((finished_at - started_at))
printf 'suite: took %dm%02ds\n' $((elapsed / 60)) $((elapsed % 60))

# ------------------------------------------------------------------------------------------------
# Record: bench/RESULTS.md and docs/bench-ratios.png.
if [ "$record" != 1 ]; then
  echo "suite: RECORD=0: nothing written"
elif [ "${#failures[@]}" -gt 0 ]; then
  echo "suite: errors: bench/RESULTS.md and docs/bench-ratios.png left as they were" >&2
else
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  git diff --quiet HEAD -- src include bench/load/suite 2>/dev/null || commit+=" (+ uncommitted changes in src/, include/ or the suite)"
  model=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
  buildtype=$(sed -n 's/^buildtype = *//p' build/meson-private/cmd_line.txt 2>/dev/null || true)
  fs=$(df -PT "${TMPDIR:-/tmp}" | awk 'NR==2 {print $2}')
  {
    echo
    echo "## $(date +%F) — Issue 7 — load suite"
    echo
    echo "Machine: $(nproc) vCPU \"$model\" ($(lscpu | sed -n 's/^Hypervisor vendor: *//p') VM), $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r),"
    echo "loopback; load average before/after the suite: $load_before / $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine:"
    echo "read the ratios). Commit $commit, \`$handoffd\` (meson buildtype ${buildtype:-?}), $("$nginx_bin" -v 2>&1 | sed 's/^nginx version: //'), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)."
    echo "Store: the default embedded store (\`[store] durable = true, sync = true\`), data directories on $fs under ${TMPDIR:-/tmp};"
    echo "\`fdatasync\` of a 120-byte append there, median / p99 of 200: $(sed 's/ / \/ /' <<<"$fsync_before") ms before the suite, $(sed 's/ / \/ /' <<<"$fsync_after") ms after."
    echo
    subset=""
    [ -n "${FLOWS:-}${SHARDS:-}" ] && subset=" with FLOWS=\"$flows\" SHARDS=\"$shards\""
    echo "Command: \`${invocation% }\`$subset — $runs alternating runs per server"
    echo "(nginx, handoff, …) of ${secs} s, \`wrk -c$conns --latency\` keep-alive, after 2 s of warm-up each; medians. One shard:"
    echo "\`handoffd --threads 1\` and nginx (one worker) under \`taskset -c 1\`, \`taskset -c 0 wrk -t1\`; two shards:"
    echo "\`--threads 2\`, nginx two workers, \`wrk -t2\` unpinned. Flows and baselines: the header of bench/load/suite."
    if [ "$have_jwt_bench" = 1 ]; then
      echo "Signing flows' ceiling: signatures/s of the algorithm measured right after each handoff run (\`taskset -c 1"
      echo "$jwt_bench --benchmark_filter=BM_SignJwt/ALG\$ --benchmark_min_time=1\`; two shards: one on core 0 and one on"
      echo "core 1 at once, summed; Google Benchmark's items/s: per CPU-second), median of the runs (rows \"sign\" below); every"
      echo "signing flow signs one ID token per answer. \"per CPU-second\": each run's req/s ÷ the server's cores used (cpu% below),"
      echo "against nginx's the same way or against the signatures/s per core — the machine is shared, and the CPU column says how"
      echo "much of its cores the server got."
    fi
    echo
    cat "$table"
    if [ -s "$other" ]; then
      echo
      echo "The other targets of PERFORMANCE.md, measured in the same sitting right after the flows (suite.d/targets.sh):"
      echo
      cat "$other_table"
    fi
    if [ "${#notes[@]}" -gt 0 ]; then
      echo
      for n in "${notes[@]}"; do echo "Note: $n."; done
    fi
    echo
    echo "Every run (p50/p99 in ms; ok/bad: answers the Lua accepted/refused; sock: wrk socket errors;"
    echo "fed: pre-minted STTs or codes given to the run; fedout: requests after they ran out; cpu%: the
server's CPU time during the run, % of one core (handoffd with libuv's pool; nginx master and workers); \"sign\" rows:
the signatures/s measured after the handoff run in req/s's column):"
    echo
    echo '```'
    cat "$raw"
    echo '```'
    echo
    echo "Exact commands (WORK: the suite's temporary directory; a producer is stopped once it has 1.5 × the best rate seen × the run's seconds + 2000):"
    echo
    echo '```'
    printf '%s\n' "${cmds[@]}"
    echo '```'
    for part in node durability memory memory10m fetch geo; do
      [ -f "$work/targets-$part.log" ] || continue
      echo
      echo "Output of the other targets' $part step:"
      echo
      echo '```'
      cat "$work/targets-$part.log"
      echo '```'
    done
  } >> bench/RESULTS.md
  echo "suite: appended to bench/RESULTS.md"

  mkdir -p docs
  ymax=$(awk '{ for (i = 4; i <= 5; ++i) if ($i != "-" && $i > m) m = $i } END { m *= 1.2; print (m > 1.4 ? m : 1.4) }' "$chart_data")
  gnuplot <<GP
set terminal pngcairo size 1100,820 font "DejaVu Sans,10"
set output "docs/bench-ratios.png"
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top right
set xtics rotate by -30 nomirror
dx = 1.0 / 6   # the centres of the two bars of a cluster (2 columns, gap 1) are at x -/+ 1/6
set multiplot layout 2,1 title "handoff load suite, $(date +%F), commit ${commit%% *}: medians of $runs × ${secs}s, wrk -c$conns, same sitting"
set title "handoff / nginx canned answer (req/s; log scale)"
set logscale y
set yrange [0.005:6]
set ytics (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2)
plot "$chart_data" using 2:xtic(1) title "1 shard (core 1; wrk on core 0)" lc rgb "#3b75af", \
     "" using 3 title "2 shards (wrk shares the cores)" lc rgb "#ef8636", \
     "" using (\$0 - dx):(\$2 * 1.25):(sprintf("%.3f", \$2)) with labels font ",8" notitle, \
     "" using (\$0 + dx):(\$3 * 1.25):(sprintf("%.3f", \$3)) with labels font ",8" notitle, \
     1 notitle lc rgb "black" dt 2
unset logscale y
set title "handoff / target basis: nginx canned (redeem, discovery, jwks, healthz) or signatures/s ÷ signatures per answer (mint, refresh, code)"
set yrange [0:$ymax]
set ytics 0.2
plot "$chart_data" using 4:xtic(1) title "1 shard" lc rgb "#3b75af", \
     "" using 5 title "2 shards (ceiling: 2 cores)" lc rgb "#ef8636", \
     "" using (\$0 - dx):(\$4 + 0.05):(sprintf("%.2f", \$4)) with labels font ",8" notitle, \
     "" using (\$0 + dx):(\$5 + 0.05):(sprintf("%.2f", \$5)) with labels font ",8" notitle, \
     0.8 title "0.8 (redeem, signing flows)" lc rgb "#c03030" dt 2 lw 2, \
     0.9 title "0.9 (discovery, jwks, healthz)" lc rgb "#30a030" dt 3 lw 2
unset multiplot
GP
  echo "suite: drew docs/bench-ratios.png"
fi
[ "${#failures[@]}" = 0 ] || exit 1
