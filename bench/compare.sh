#!/usr/bin/env bash
# Compares Sluice with HAProxy and NGINX as HTTP/1.1 reverse proxies, in one run, on this machine.
#
# One NGINX backend serves two static files (SIZES, default 100 B and 16 KiB). In front of it, on the same config
# (one pool, keep-alive to the backend, no access log, X-Forwarded-For added), run:
#   direct   wrk straight to the backend (the baseline: what the backend and wrk can do)
#   haproxy  HAProxy, nbthread IO_THREADS, http-reuse always
#   nginx    NGINX as a proxy, worker_processes IO_THREADS, upstream keepalive
#   sluice   java $SLUICE_JAVA_OPTS -jar sluice.jar run -c <generated yaml>, io_threads IO_THREADS
# Each target is warmed up, then driven by wrk (keep-alive, CONNS connections, DURATION seconds) for every size, and
# once more with "Connection: close" on the small file (CLOSE=1; a new client connection per request). Rounds are
# repeated with the order of the targets rotated; the Sluice/HAProxy ratio is computed within each round (the
# machine is shared, so only same-round ratios mean much) and the median over rounds is printed with all values.
# Latency columns are wrk's p50 and p99; "added p99" is the proxy's p99 minus direct's p99 of the same round.
# "CPU µs/request" is the CPU time (user + system, from /proc/<pid>/stat) the target used during the run divided by
# the requests it served: on a shared machine it is steadier than the rate, which depends on what else runs.
#
# Cores (PIN=1, the default, on >= 2 cores): the proxies run on the last core (IO_THREADS threads/event loops/
# workers); wrk and the backend share the others.
#
# Knobs: IO_THREADS (1), CONNS (64), DURATION (5s), CLOSE_DURATION (3s), SIZES ("100 16384"), CLOSE (1),
# ROUNDS (3), PIN (1), WARMUP (2s per target and load), INITIAL_WARMUP (10s of each load, twice, for Sluice's JIT), SLUICE_JAR,
# SLUICE_JAVA_OPTS, SLUICE_TRANSPORT (epoll), RESULTS (file for the markdown table), KEEP_TMP (1 keeps the configs),
# H2 (1: afterwards run bench/compare-h2-tls.sh, HTTP/2 with h2load and the TLS handshake rate against HAProxy,
# with the same IO_THREADS, PIN, SLUICE_JAR and SLUICE_JAVA_OPTS; 0 skips it).
# The default run takes about 4.5 minutes, plus about 3 for H2.
#
# Usage: bench/compare.sh    (from anywhere; builds sluice.jar if it is missing; installs haproxy, nginx-light
#                             and wrk with apt-get when they are not there)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
IO_THREADS=${IO_THREADS:-1}
CONNS=${CONNS:-64}
DURATION=${DURATION:-5}
CLOSE_DURATION=${CLOSE_DURATION:-3}
SIZES=${SIZES:-"100 16384"}
CLOSE=${CLOSE:-1}
ROUNDS=${ROUNDS:-3}
PIN=${PIN:-1}
WARMUP=${WARMUP:-2}
INITIAL_WARMUP=${INITIAL_WARMUP:-10}
SLUICE_JAR=${SLUICE_JAR:-$ROOT/sluice-cli/target/sluice.jar}
# The recommended options (docs/benchmarks.md): a small fixed heap (a proxy's garbage is short-lived),
# ParallelGC for throughput, no leak detection, no per-access buffer checks (the tests run with them on).
SLUICE_JAVA_OPTS=${SLUICE_JAVA_OPTS:-"-Xms128m -Xmx128m -XX:+UseParallelGC -Dio.netty.leakDetection.level=disabled -Dio.netty.buffer.checkAccessible=false -Dio.netty.buffer.checkBounds=false"}
export SLUICE_TRANSPORT=${SLUICE_TRANSPORT:-epoll}
TARGETS="direct haproxy nginx sluice"

log() { echo "[compare] $*" >&2; }

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_install haproxy:haproxy nginx:nginx-light wrk:wrk taskset:util-linux
bench_build "$SLUICE_JAR"
bench_pin "$PIN" proxies "wrk and backend"
bench_tmp compare
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
nginx_temp_paths() {
    local d=$1
    echo "client_body_temp_path $d/body; proxy_temp_path $d/proxy; fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi; scgi_temp_path $d/scgi;"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- backend
declare -A PORT CPORT PID
# Every target also listens on a second port used only by the Connection: close load: the proxy closes those
# connections, so their TIME_WAIT sockets sit on the proxy's side, and a later keep-alive run whose ephemeral port
# hits one of them would wait a second for its SYN to be retried (wrk counts that as a timeout).
PORT[direct]=$(free_port); CPORT[direct]=$(free_port)
mkdir -p "$TMP/www" "$TMP/backend"
for s in $SIZES; do head -c "$s" /dev/zero | tr '\0' 'x' >"$TMP/www/$s"; done
cat >"$TMP/backend/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $TMP/backend/nginx.pid;
error_log $TMP/backend/error.log warn;
events { worker_connections 16384; }
http {
    access_log off; sendfile on; tcp_nodelay on; keepalive_timeout 300s; keepalive_requests 10000000;
    $(nginx_temp_paths "$TMP/backend")
    server {
        listen 127.0.0.1:${PORT[direct]} reuseport backlog=4096; listen 127.0.0.1:${CPORT[direct]} backlog=4096;
        root $TMP/www;
    }
}
EOF
"${LOAD_PIN[@]}" nginx -p "$TMP/backend" -c "$TMP/backend/nginx.conf" >"$TMP/backend.out" 2>&1 &
PIDS+=($!)
PID[direct]=$!
wait_port "${PORT[direct]}" backend
BACKEND=127.0.0.1:${PORT[direct]}

# ---------------------------------------------------------------- proxies
PORT[haproxy]=$(free_port); CPORT[haproxy]=$(free_port)
cat >"$TMP/haproxy.cfg" <<EOF
global
    nbthread $IO_THREADS
    maxconn 8000
defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 30s
    option http-keep-alive
    option forwardfor
    http-reuse always
frontend web
    bind 127.0.0.1:${PORT[haproxy]}
    bind 127.0.0.1:${CPORT[haproxy]}
    default_backend web
backend web
    server b1 $BACKEND
EOF
"${PROXY_PIN[@]}" haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.out" 2>&1 &
PIDS+=($!)
PID[haproxy]=$!
wait_port "${PORT[haproxy]}" haproxy

PORT[nginx]=$(free_port); CPORT[nginx]=$(free_port)
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes $IO_THREADS;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 8000; }
http {
    access_log off; tcp_nodelay on; keepalive_timeout 60s; keepalive_requests 10000000;
    $(nginx_temp_paths "$TMP/nginx")
    upstream web { server $BACKEND; keepalive 256; keepalive_requests 10000000; }
    server {
        listen 127.0.0.1:${PORT[nginx]} backlog=4096;
        listen 127.0.0.1:${CPORT[nginx]} backlog=4096;
        location / {
            proxy_pass http://web;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_buffering on;
        }
    }
}
EOF
"${PROXY_PIN[@]}" nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" >"$TMP/nginx.out" 2>&1 &
PIDS+=($!)
PID[nginx]=$!
wait_port "${PORT[nginx]}" nginx

PORT[sluice]=$(free_port); CPORT[sluice]=$(free_port)
cat >"$TMP/sluice.yaml" <<EOF
io_threads: $IO_THREADS
access_log: { path: off }
admin: { enabled: false }
listeners:
  - name: web
    address: 127.0.0.1:${PORT[sluice]}
    routes: [ { match: { path_prefix: / }, pool: web } ]
  - name: close
    address: 127.0.0.1:${CPORT[sluice]}
    routes: [ { match: { path_prefix: / }, pool: web } ]
pools:
  - name: web
    endpoints: [ { address: $BACKEND } ]
EOF
# shellcheck disable=SC2086
"${PROXY_PIN[@]}" java $SLUICE_JAVA_OPTS -Xlog:gc,safepoint:file="$TMP/sluice-gc.log" -jar "$SLUICE_JAR" run -c "$TMP/sluice.yaml" >"$TMP/sluice.out" 2>&1 &
PIDS+=($!)
PID[sluice]=$!
wait_port "${PORT[sluice]}" sluice

# ---------------------------------------------------------------- loads
# Converts a wrk latency ("812.00us", "1.20ms", "2.01s") to milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN{n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n*=1; else if (v ~ /s$/) n*=1000;
        printf "%.3f", n}'
}
# CPU time (user + system, in clock ticks) used so far by a process, its threads and its children (NGINX workers).
cpu_ticks() {
    local total=0 p
    for p in $1 $(pgrep -P "$1" || true); do
        total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$total"
}
TICK=$(getconf CLK_TCK)
# Runs wrk against one target; prints "rate p50ms p99ms cpu_us_per_request". The CPU time is the target's own (for
# direct: the backend's), so it holds up better than the rate when other work shares the machine.
# Non-2xx answers or socket errors are reported.
run() {
    local target=$1 path=$2 secs=$3 mode=${4:-keepalive} out extra=() c0 c1 port
    port=${PORT[$target]}
    [[ $mode == close ]] && { extra=(-H "Connection: close"); port=${CPORT[$target]}; }
    c0=$(cpu_ticks "${PID[$target]}")
    out=$("${LOAD_PIN[@]}" wrk -t 1 -c "$CONNS" -d "${secs}s" --latency "${extra[@]}" \
        "http://127.0.0.1:$port/$path" 2>&1) || { log "wrk failed for $target:"; echo "$out" >&2; exit 1; }
    c1=$(cpu_ticks "${PID[$target]}")
    local rate p50 p99 bad n
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    rate=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    bad=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")
    [[ -z $bad ]] || log "$target /$path $mode: $bad non-2xx responses"
    if grep -q 'Socket errors' <<<"$out" && [[ $mode != close ]]; then
        log "$target /$path $mode: $(grep 'Socket errors' <<<"$out")"
    fi
    [[ -n $rate && -n $p99 ]] || { log "no result from wrk for $target:"; echo "$out" >&2; exit 1; }
    echo "$rate $(to_ms "$p50") $(to_ms "$p99") $(awk -v c=$((c1 - c0)) -v t="$TICK" -v n="${n:-0}" \
        'BEGIN{printf "%.1f", (n > 0 ? c * 1e6 / t / n : 0)}')"
}

# The loads: "name path seconds mode".
LOADS=()
for s in $SIZES; do LOADS+=("${s}B-keepalive $s $DURATION keepalive"); done
small=${SIZES%% *}
if [[ $CLOSE == 1 ]]; then LOADS+=("${small}B-close $small $CLOSE_DURATION close"); fi

log "$CORES_NOTE; io_threads $IO_THREADS; load average before: $LOAD_BEFORE"
log "warming Sluice up (${INITIAL_WARMUP}s per load, twice), then every target (${WARMUP}s per load)"
# Twice through all loads: code compiled for one load and then deoptimized by the next is compiled again.
for _ in 1 2; do
    for l in "${LOADS[@]}"; do
        read -r _ path _ mode <<<"$l"
        run sluice "$path" "$INITIAL_WARMUP" "$mode" >/dev/null
    done
done
for t in $TARGETS; do
    for l in "${LOADS[@]}"; do
        read -r _ path _ mode <<<"$l"
        run "$t" "$path" "$WARMUP" "$mode" >/dev/null
    done
done

declare -A RES RATIO P99ADD CPURATIO
for r in $(seq 1 "$ROUNDS"); do
    # Rotate the order of the targets from round to round.
    read -r -a order <<<"$TARGETS"
    shift_by=$(((r - 1) % ${#order[@]}))
    order=("${order[@]:shift_by}" "${order[@]:0:shift_by}")
    for l in "${LOADS[@]}"; do
        read -r name path secs mode <<<"$l"
        declare -A this=()
        for t in "${order[@]}"; do
            this[$t]=$(run "$t" "$path" "$secs" "$mode")
            RES[$t.$name]+="${this[$t]};"
        done
        read -r hr _ _ hc <<<"${this[haproxy]}"
        read -r sr _ _ sc <<<"${this[sluice]}"
        CPURATIO[$name]+="$(awk -v s="$sc" -v h="$hc" 'BEGIN{printf "%.2f", (h > 0 ? s / h : 0)}') "
        read -r _ _ dp99 <<<"${this[direct]}"
        RATIO[$name]+="$(awk -v s="$sr" -v h="$hr" 'BEGIN{printf "%.2f", (h > 0 ? s / h : 0)}') "
        for t in haproxy nginx sluice; do
            read -r _ _ p99 <<<"${this[$t]}"
            P99ADD[$t.$name]+="$(awk -v p="$p99" -v d="$dp99" 'BEGIN{printf "%.2f", p-d}') "
        done
        log "round $r $name: direct ${this[direct]} | haproxy ${this[haproxy]} | nginx ${this[nginx]} |" \
            "sluice ${this[sluice]}   (req/s, p50 ms, p99 ms, CPU us/request)"
    done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
# The longest GC pause and the longest safepoint (all threads stopped) Sluice had, from its GC log.
SLUICE_PAUSES=$(awk '/Pause/ {v = $NF + 0; if (v > gc) gc = v}
    /Total: [0-9]+ ns/ {for (i = 1; i < NF; i++) if ($i == "Total:") {t = $(i + 1) / 1e6; if (t > sp) sp = t}}
    END {printf "longest GC pause %.1f ms, longest safepoint %.1f ms", gc, sp}' "$TMP/sluice-gc.log" 2>/dev/null || echo "")
SLUICE_RSS=$(awk '/^VmRSS:/ {printf "%.0f MB", $2 / 1024}' "/proc/${PID[sluice]}/status" 2>/dev/null || echo "?")

median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# Median of field $2 (1 rate, 2 p50, 3 p99, 4 CPU) over the rounds' "rate p50 p99;" results.
field_median() { median "$(tr ';' '\n' <<<"$1" | awk -v f="$2" 'NF {print $f}' | tr '\n' ' ')"; }

version() {
    case $1 in
        haproxy) haproxy -v 2>/dev/null | awk 'NR == 1 {print "HAProxy " $3}' ;;
        nginx) nginx -v 2>&1 | sed 's/.*nginx\//NGINX /' ;;
        sluice) echo "Sluice" ;;
        direct) echo "direct (no proxy)" ;;
    esac
}

table="| load | target | req/s | p50 ms | p99 ms | added p99 ms | CPU µs/request | Sluice / HAProxy req/s (median; rounds) | Sluice / HAProxy CPU per request |
|---|---|---|---|---|---|---|---|---|"
for l in "${LOADS[@]}"; do
    read -r name _ <<<"$l"
    for t in $TARGETS; do
        added="–"; ratio=""; cpuratio=""
        [[ $t == direct ]] || added=$(median "${P99ADD[$t.$name]}")
        if [[ $t == sluice ]]; then
            ratio="**$(median "${RATIO[$name]}")** ($(xargs <<<"${RATIO[$name]}" | sed 's/ /, /g'))"
            cpuratio="$(median "${CPURATIO[$name]}") ($(xargs <<<"${CPURATIO[$name]}" | sed 's/ /, /g'))"
        fi
        table+="
| $name | $(version "$t") | $(printf "%.0f" "$(field_median "${RES[$t.$name]}" 1)") | $(field_median "${RES[$t.$name]}" 2) | $(field_median "${RES[$t.$name]}" 3) | $added | $(field_median "${RES[$t.$name]}" 4) | $ratio | $cpuratio |"
    done
done
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cpus ($(lscpu | sed -n 's/^Model name: *//p')), $CORES_NOTE,"
echo "io_threads/nbthread/worker_processes $IO_THREADS, $ROUNDS rounds; wrk -t 1 -c $CONNS -d ${DURATION}s" \
    "(close: -d ${CLOSE_DURATION}s -H 'Connection: close'); load average before $LOAD_BEFORE, after $LOAD_AFTER;"
echo "Sluice: java $SLUICE_JAVA_OPTS, transport $SLUICE_TRANSPORT, RSS at the end $SLUICE_RSS, $SLUICE_PAUSES"
echo
echo "$table"
if [[ -n ${RESULTS:-} ]]; then echo "$table" >"$RESULTS"; fi

if [[ ${H2:-1} == 1 ]]; then
    cleanup
    trap - EXIT
    log "HTTP/2 and TLS: bench/compare-h2-tls.sh"
    IO_THREADS=$IO_THREADS PIN=$PIN SLUICE_JAR=$SLUICE_JAR SLUICE_JAVA_OPTS=$SLUICE_JAVA_OPTS \
        RESULTS=${RESULTS:+$RESULTS.h2} "$ROOT/bench/compare-h2-tls.sh"
fi
