# bench/load/suite.d/servers.sh — sourced by bench/load/suite (not run on its own): the signing ceiling, the disk probe, starting and stopping handoffd and nginx, wrk runs and the STT/code producers.
# Shares the suite's shell: its variables ($work, $store, $conns, …) and helpers.

# ------------------------------------------------------------------------------------------------
# Signatures per second of an algorithm, in the same sitting as each handoff run of a signing flow
# (the ceiling moves with the machine's load): build/bench/jwt_bench on core 1, or on cores 0 and
# 1 at once for two shards (the sum). Prints nothing when the bench is missing or fails.
have_jwt_bench=0
if [ "$sig_flows" = 1 ]; then
  if [ -x "$jwt_bench" ]; then have_jwt_bench=1
  else echo "suite: no $jwt_bench (meson -Dbenchmarks=enabled): signing flows get no ceiling" >&2; fi
fi
sig_rate() {  # sig_rate ALG SHARDS
  [ "$have_jwt_bench" = 1 ] || return 0
  local alg=$1 cores=1 c p ps=() rc=0
  [ "$2" = 2 ] && cores="0 1"
  for c in $cores; do
    timeout -k 5 60 taskset -c "$c" "$jwt_bench" --benchmark_filter="BM_SignJwt/$alg\$" --benchmark_min_time=1 \
      --benchmark_format=csv > "$work/sig.$c" 2>&1 &
    p=$!
    echo "$p" >> "$work/pids"
    ps+=("$p")
  done
  for p in "${ps[@]}"; do wait "$p" || rc=$?; done
  [ "$rc" = 0 ] || { echo "suite: $jwt_bench failed: $(tail -2 "$work/sig.1")" >&2; return 0; }
  for c in $cores; do cat "$work/sig.$c"; done | awk -F, '
    /^name,/ { for (i = 1; i <= NF; ++i) if ($i == "items_per_second") col = i; next }
    col && /BM_SignJwt\// { sum += $col; n++ }
    END { if (n) printf "%.0f", sum }'
}

# fdatasync latency of a 120-byte append in $TMPDIR (the store's data directories): median and
# p99 in ms of 200, for the record — durable flows wait for one per group commit.
fsync_probe() {
  timeout 60 /usr/bin/python3 - "$work" <<'PY' || echo "? ?"
import os, sys, time
fd = os.open(os.path.join(sys.argv[1], "fsync-probe"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
t = []
for _ in range(200):
    a = time.perf_counter()
    os.write(fd, b"x" * 120)
    os.fdatasync(fd)
    t.append(time.perf_counter() - a)
os.close(fd)
os.unlink(os.path.join(sys.argv[1], "fsync-probe"))
t.sort()
print("%.2f %.2f" % (t[len(t) // 2] * 1000, t[int(len(t) * 0.99)] * 1000))
PY
}
fsync_before=$(fsync_probe)
echo "suite: fdatasync of a 120-byte append in ${TMPDIR:-/tmp}: median / p99 $(sed 's/ / \/ /' <<<"$fsync_before") ms"

first() { echo "$1"; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ------------------------------------------------------------------------------------------------
# Servers.
hpid="" npid=""
start_handoff() {  # start_handoff ALG SHARDS → hpid hport hdir handoff_cmd
  local alg=$1 s=$2 pin=()
  [ "$s" = 1 ] && pin=(taskset -c 1)
  hdir=$(mktemp -d "$work/handoff-XXXXXX")
  local cmd=("${pin[@]}" "${handoffd_prefix[@]}" "$handoffd" --config "$work/tenant-$alg.toml" --threads "$s" --data-dir "$hdir/data"
             --log-level warn "${geo_args[@]}")
  "${cmd[@]}" > "$hdir/out" 2> "$hdir/err" &
  hpid=$!
  echo "$hpid" >> "$work/pids"
  for _ in $(seq 400); do
    grep -q '^listening on' "$hdir/out" 2>/dev/null && break
    kill -0 "$hpid" 2>/dev/null || break
    sleep 0.05
  done
  hport=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$hdir/out")
  [ -n "$hport" ] || die "handoffd did not start: $(tail -5 "$hdir/err")"
  handoff_cmd="${cmd[*]//$hdir/\$WORK/handoff-XXXXXX}"
  handoff_cmd="${handoff_cmd//$work/\$WORK}"
}
stop_pid() {  # stop_pid PID NAME: SIGTERM, 10 s, then SIGKILL; returns the exit status
  local p=$1 rc=0
  kill "$p" 2>/dev/null || true
  for _ in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$p" 2>/dev/null && { echo "suite: $2 did not stop in 10 s: SIGKILL" >&2; kill -9 "$p" 2>/dev/null || true; }
  wait "$p" 2>/dev/null || rc=$?
  return "$rc"
}
alive_or_die() {
  kill -0 "$hpid" 2>/dev/null && return 0
  local keep
  keep=$(mktemp "${TMPDIR:-/tmp}/suite-handoffd-XXXXXX.log")
  cp "$hdir/err" "$keep"
  die "handoffd ended during $1 — its log: $keep"
}

# nginx's canned answer for the flow, copied from handoffd's own.
nginx_quote() {  # a string as an nginx single-quoted argument; '$' would be a variable: refuse
  local s=$1
  [[ "$s" == *'$'* ]] && die "a canned answer contains '\$': cannot give it to nginx as is"
  s=${s//\\/\\\\}
  s=${s//\'/\\\'}
  printf "'%s'" "$s"
}
start_nginx() {  # start_nginx SHARDS LOCATION_BLOCK → npid nport nginx_cmd
  local s=$1 block=$2 pin=() affinity=""
  [ "$s" = 1 ] && pin=(taskset -c 1)
  [ "$s" = 2 ] && affinity="worker_cpu_affinity auto;"
  local d="$work/nginx"
  rm -rf "$d"; mkdir -p "$d/logs"
  nport=$(free_port)
  cat > "$d/nginx.conf" <<CONF
worker_processes $s;
$affinity
daemon off;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  server_tokens off;
  server {
    listen 127.0.0.1:$nport;
$block
  }
}
CONF
  local cmd=("${pin[@]}" "$nginx_bin" -p "$d" -c "$d/nginx.conf")
  "${cmd[@]}" > "$d/out" 2>&1 &
  npid=$!
  echo "$npid" >> "$work/pids"
  for _ in $(seq 200); do
    curl -s --max-time 1 -o /dev/null "http://127.0.0.1:$nport/" && break
    kill -0 "$npid" 2>/dev/null || break
    sleep 0.05
  done
  curl -s --max-time 2 -o /dev/null "http://127.0.0.1:$nport/" || die "nginx did not start: $(cat "$d/out" "$d/logs/error.log")"
  nginx_cmd="${cmd[*]//$work/\$WORK}"
}

# ------------------------------------------------------------------------------------------------
# wrk.
to_ms() { awk -v v="$1" 'BEGIN { u = v; sub(/^[0-9.]+/, "", u); x = v + 0;
  if (u == "us") x /= 1000; else if (u == "s") x *= 1000; else if (u == "m") x *= 60000; printf "%.3f", x }'; }

declare -A cmds_seen=()
cmds=()
note_cmd() { local c="$*"; [ -n "${cmds_seen[$c]+x}" ] || { cmds_seen[$c]=1; cmds+=("$c"); }; }

wrk_args() {  # wrk_args SHARDS → the wrk command prefix in wrk_pre
  if [ "$1" = 1 ]; then wrk_pre=(taskset -c 0 wrk -t1); else wrk_pre=(wrk -t2); fi
}

# CPU seconds used so far by handoffd (every thread, libuv's pool included) or nginx (master and
# workers), in clock ticks.
cpu_ticks() {
  local pids=() p t=0 x
  if [ "$1" = handoff ]; then pids=("$hpid"); else pids=("$npid" $(pgrep -P "$npid" || true)); fi
  for p in "${pids[@]}"; do
    x=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || echo 0)
    t=$((t + x))
  done
  echo "$t"
}
hz=$(getconf CLK_TCK)

# measure SERVER PORT SECONDS FEED → result fields in m_* (m_cpu: the server's CPU use during the
# run, in % of one core); env BENCH_* set by the caller
measure() {
  local server=$1 port=$2 s=$3 feed=$4 out="$work/wrk.out" rc=0 c0 t0
  export BENCH_FEED=$feed
  c0=$(cpu_ticks "$server") t0=$EPOCHREALTIME
  [ "$server" = handoff ] && store_counts "$port" > "$work/store0"
  bg "$out" timeout -k 5 $((s + 30)) "${wrk_pre[@]}" -c"$conns" -d"${s}s" --latency -s "$work/client.lua" \
    "http://127.0.0.1:$port$path" || rc=$?
  m_cpu=$(awk -v a="$c0" -v b="$(cpu_ticks "$server")" -v hz="$hz" -v t0="$t0" -v t1="$EPOCHREALTIME" \
    'BEGIN { printf "%.0f", (b - a) / hz / (t1 - t0) * 100 }')
  [ "$rc" = 0 ] || { echo "suite: wrk exited $rc against $server ($flow): $(tail -5 "$out")" >&2; }
  m_rps=$(awk '/Requests\/sec/ {print $2}' "$out")
  m_p50=$(to_ms "$(awk '$1=="50%" {print $2}' "$out")")
  m_p99=$(to_ms "$(awk '$1=="99%" {print $2}' "$out")")
  m_ok=$(awk '/^BENCH / {sub("ok=", "", $2); print $2}' "$out")
  m_bad=$(awk '/^BENCH / {sub("bad=", "", $3); print $3}' "$out")
  m_exh=$(awk '/^BENCH / {sub("exhausted=", "", $4); print $4}' "$out")
  m_fed=$(awk '/^BENCH / {sub("fed=", "", $5); print $5}' "$out")
  m_sock=$(awk '/Socket errors/ {n = 0; for (i = 1; i <= NF; ++i) if ($i ~ /^[0-9]+,?$/) n += $i; print n}' "$out")
  m_firstbad=$(sed -n 's/^BENCH_FIRSTBAD //p' "$out" | cut -c1-400)
  : "${m_rps:=0}" "${m_ok:=0}" "${m_bad:=0}" "${m_exh:=0}" "${m_fed:=0}" "${m_sock:=0}"
  if [ "$rc" != 0 ] && [ "$m_bad" = 0 ] && [ "$m_sock" = 0 ]; then m_sock=1; m_firstbad="wrk exited $rc"; fi
  if [ "$server" = handoff ]; then  # the group commit at work: records and fdatasyncs in the run
    read -r r0 g0 < "$work/store0"
    read -r r1 g1 < <(store_counts "$port")
    m_store=$(awk -v r=$((r1 - r0)) -v g=$((g1 - g0)) -v s="$s" \
      'BEGIN { printf "%d records, %d commits (%.0f/s, %.1f records each)", r, g, g / s, g ? r / g : 0 }')
    echo "suite:   handoff store: $m_store"
  fi
  if [ "$s" = "$secs" ]; then
    note_cmd "BENCH_FLOW=$flow ${wrk_pre[*]} -c$conns -d${s}s --latency -s client.lua http://127.0.0.1:PORT$path"
  fi
}

# handoff_store_records_total and handoff_store_group_commits_total, summed over the shards.
store_counts() {
  curl -sf --max-time 5 "http://127.0.0.1:$1/metrics" | awk '
    $1 ~ /^handoff_store_records_total/ { r += $2 } $1 ~ /^handoff_store_group_commits_total/ { g += $2 }
    END { printf "%d %d\n", r, g }'
}

# produce KIND PORT TARGET → the file $work/feed (one artifact a line), produced=count
produce() {
  local kind=$1 port=$2 target=$3 rc=0 ppath=/oauth/token
  [ "$kind" = code ] && ppath=$authq
  rm -f "$work"/feed.part.* "$work/feed"
  local t0=$EPOCHREALTIME p n=0 linelen=29 stopped=0
  [ "$kind" = code ] && linelen=28   # stt_S_ or cd_S_ + 22 characters + newline
  BENCH_KIND=$kind BENCH_OUT=$work/feed.part \
    timeout -k 5 $((prod_cap + 15)) "${wrk_pre[@]}" -c"$conns" -d"${prod_cap}s" \
      -s "$work/produce.lua" "http://127.0.0.1:$port$ppath" > "$work/produce.out" 2>&1 &
  p=$!
  echo "$p" >> "$work/pids"
  while kill -0 "$p" 2>/dev/null; do
    n=$( (stat -c %s "$work"/feed.part.* 2>/dev/null || true) | awk -v l="$linelen" '{ b += $1 } END { printf "%d", b / l }')
    if [ "$n" -ge "$target" ]; then kill "$p" 2>/dev/null || true; stopped=1; break; fi
    sleep 0.1
  done
  wait "$p" || rc=$?
  [ "$rc" = 0 ] || [ "$stopped" = 1 ] || echo "suite: the $kind producer exited $rc: $(tail -3 "$work/produce.out")" >&2
  cat "$work"/feed.part.* > "$work/feed" 2>/dev/null || true
  produced=$(wc -l < "$work/feed")
  prod_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  [ "$produced" -gt 0 ] || die "the $kind producer got nothing: $(tail -5 "$work/produce.out")"
  note_cmd "BENCH_KIND=$kind ${wrk_pre[*]} -c$conns -d${prod_cap}s -s produce.lua http://127.0.0.1:PORT$ppath"
}
