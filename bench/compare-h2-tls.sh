#!/usr/bin/env bash
# Compares Sluice with HAProxy for HTTP/2 and TLS, in one run, on this machine.
#
# Three loads, each against both proxies in front of the same NGINX backend (HTTP/1.1, keep-alive, a 100-byte file),
# with equivalent configs (one pool, upstream keep-alive, no access log, X-Forwarded-For):
#   h2c        h2load with prior knowledge, CLIENTS connections x STREAMS concurrent streams, DURATION long
#   h2-tls     the same over TLS (ALPN h2, TLS 1.3, ECDSA P-256 certificate)
#   handshake  full TLS handshakes: h2load --h1 opens HANDSHAKES connections with one request each, CLIENTS at a
#              time, no session resumption; the rate is handshakes (connections) per second
# Rounds are repeated and the order of the proxies alternates; the ratio Sluice/HAProxy is computed within each round
# (the machine is shared, so only same-round ratios mean much) and the median over rounds is reported.
#
# Cores (PIN=1, the default, on >= 2 cores): both proxies run on the last core with IO_THREADS event loops / threads;
# h2load and the backend share the others. Sluice first gets INITIAL_WARMUP of each load so its JIT is done.
#
# Knobs: IO_THREADS (1), CLIENTS (16), STREAMS (10), DURATION (10s), HANDSHAKES (3000), ROUNDS (3), PIN (1),
# INITIAL_WARMUP (15s), SLUICE_JAR, SLUICE_JAVA_OPTS, RESULTS (file for the markdown table), KEEP_TMP.
#
# Usage: bench/compare-h2-tls.sh    (from the repository root; builds sluice.jar if it is missing)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
IO_THREADS=${IO_THREADS:-1}
CLIENTS=${CLIENTS:-16}
STREAMS=${STREAMS:-10}
DURATION=${DURATION:-10}
HANDSHAKES=${HANDSHAKES:-3000}
ROUNDS=${ROUNDS:-3}
PIN=${PIN:-1}
INITIAL_WARMUP=${INITIAL_WARMUP:-15}
SLUICE_JAR=${SLUICE_JAR:-$ROOT/sluice-cli/target/sluice.jar}
SLUICE_JAVA_OPTS=${SLUICE_JAVA_OPTS:-"-Xms256m -Xmx256m -XX:+UseParallelGC -Dio.netty.leakDetection.level=disabled"}
export SLUICE_TRANSPORT=${SLUICE_TRANSPORT:-epoll}

log() { echo "[h2-tls] $*" >&2; }

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_install haproxy:haproxy nginx:nginx-light h2load:nghttp2-client taskset:util-linux openssl:openssl
bench_build "$SLUICE_JAR"
bench_pin "$PIN" proxies "h2load and backend"
bench_tmp h2tls
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ---------------------------------------------------------------- certificate and backend
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
cat "$TMP/cert.pem" "$TMP/key.pem" >"$TMP/haproxy.pem"

BACKEND=$(free_port)
mkdir -p "$TMP/www" "$TMP/backend"
head -c 100 /dev/zero | tr '\0' 'x' >"$TMP/www/100"
cat >"$TMP/backend/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $TMP/backend/nginx.pid;
error_log $TMP/backend/error.log warn;
events { worker_connections 16384; }
http {
    access_log off; sendfile on; tcp_nodelay on; keepalive_timeout 300s; keepalive_requests 10000000;
    client_body_temp_path $TMP/backend/body; proxy_temp_path $TMP/backend/proxy;
    fastcgi_temp_path $TMP/backend/fastcgi; uwsgi_temp_path $TMP/backend/uwsgi; scgi_temp_path $TMP/backend/scgi;
    server { listen 127.0.0.1:$BACKEND reuseport backlog=4096; root $TMP/www; }
}
EOF
"${LOAD_PIN[@]}" nginx -p "$TMP/backend" -c "$TMP/backend/nginx.conf" >"$TMP/backend.out" 2>&1 &
PIDS+=($!)
wait_port "$BACKEND" backend

# ---------------------------------------------------------------- proxies
declare -A H2C TLS
H2C[haproxy]=$(free_port); TLS[haproxy]=$(free_port)
cat >"$TMP/haproxy.cfg" <<EOF
global
    nbthread $IO_THREADS
    maxconn 8000
    ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 30s
    option http-keep-alive
    option forwardfor
    http-reuse always
frontend h2c
    bind 127.0.0.1:${H2C[haproxy]} proto h2
    default_backend web
frontend tls
    bind 127.0.0.1:${TLS[haproxy]} ssl crt $TMP/haproxy.pem alpn h2,http/1.1
    default_backend web
backend web
    server b1 127.0.0.1:$BACKEND
EOF
"${PROXY_PIN[@]}" haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.out" 2>&1 &
PIDS+=($!)
wait_port "${TLS[haproxy]}" haproxy

H2C[sluice]=$(free_port); TLS[sluice]=$(free_port)
cat >"$TMP/sluice.yaml" <<EOF
io_threads: $IO_THREADS
access_log: { path: off }
admin: { enabled: false }
listeners:
  - name: h2c
    address: 127.0.0.1:${H2C[sluice]}
    routes: [ { match: { path_prefix: / }, pool: web } ]
  - name: tls
    address: 127.0.0.1:${TLS[sluice]}
    tls: { certificate: $TMP/cert.pem, private_key: $TMP/key.pem }
    routes: [ { match: { path_prefix: / }, pool: web } ]
pools:
  - name: web
    endpoints: [ { address: 127.0.0.1:$BACKEND } ]
EOF
# shellcheck disable=SC2086
"${PROXY_PIN[@]}" java $SLUICE_JAVA_OPTS -jar "$SLUICE_JAR" run -c "$TMP/sluice.yaml" >"$TMP/sluice.out" 2>&1 &
PIDS+=($!)
wait_port "${TLS[sluice]}" sluice

# ---------------------------------------------------------------- loads
# Prints the rate (requests/s, or connections/s for handshake) of one h2load run; fails on errored requests.
run() {
    local proxy=$1 load=$2 secs=${3:-$DURATION} out
    case $load in
        h2c) out=$("${LOAD_PIN[@]}" h2load -c "$CLIENTS" -m "$STREAMS" -D "$secs" "http://127.0.0.1:${H2C[$proxy]}/100" 2>&1) ;;
        h2-tls) out=$("${LOAD_PIN[@]}" h2load -c "$CLIENTS" -m "$STREAMS" -D "$secs" "https://127.0.0.1:${TLS[$proxy]}/100" 2>&1) ;;
        handshake) out=$("${LOAD_PIN[@]}" h2load --h1 -c "$CLIENTS" -n "$HANDSHAKES" -m 1 -H "Connection: close" \
            "https://127.0.0.1:${TLS[$proxy]}/100" 2>&1) ;;
    esac
    local failed ok
    failed=$(sed -n 's/.*requests: .* \([0-9]*\) failed.*/\1/p' <<<"$out" | sed -n 1p)
    if [[ ${failed:-0} != 0 ]]; then log "$proxy $load: $failed failed requests"; fi
    # The rate of requests (for handshake: h2load --h1 with Connection: close reconnects after every response, so
    # requests = handshakes). h2load prints the time in ms under a second, in s above.
    ok=$(sed -n 's/^finished in [0-9.]*m\{0,1\}s, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
    [[ -n $ok ]] || { log "no rate from h2load for $proxy $load:"; echo "$out" >&2; exit 1; }
    echo "$ok"
}

log "warming Sluice up (${INITIAL_WARMUP}s per load); $CORES_NOTE"
for load in h2c h2-tls; do run sluice "$load" "$INITIAL_WARMUP" >/dev/null; done
run sluice handshake >/dev/null

declare -A RATES RATIOS
LOADS="h2c h2-tls handshake"
for r in $(seq 1 "$ROUNDS"); do
    if ((r % 2)); then order="haproxy sluice"; else order="sluice haproxy"; fi
    for load in $LOADS; do
        declare -A this=()
        for p in $order; do
            this[$p]=$(run "$p" "$load")
            RATES[$p.$load]+="${this[$p]} "
        done
        RATIOS[$load]+="$(awk -v s="${this[sluice]}" -v h="${this[haproxy]}" 'BEGIN{printf "%.3f", s/h}') "
        log "round $r $load: haproxy ${this[haproxy]}/s, sluice ${this[sluice]}/s"
    done
done

median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

table="| load | HAProxy $(haproxy -v 2>/dev/null | awk 'NR == 1 {print $3}') | Sluice | Sluice / HAProxy (median of same-round ratios) |
|---|---|---|---|"
for load in $LOADS; do
    unit=$([[ $load == handshake ]] && echo "handshakes/s" || echo "req/s")
    table+="
| $load | $(median "${RATES[haproxy.$load]}") $unit | $(median "${RATES[sluice.$load]}") $unit | $(median "${RATIOS[$load]}") |"
done
echo
echo "$(date -u +%Y-%m-%d), $(nproc) cpus, $CORES_NOTE, io_threads $IO_THREADS, $ROUNDS rounds;"
echo "h2load -c $CLIENTS -m $STREAMS -D $DURATION (h2c, h2-tls); --h1 -c $CLIENTS -n $HANDSHAKES with Connection: close (handshake)"
echo
echo "$table"
if [[ -n ${RESULTS:-} ]]; then echo "$table" >"$RESULTS"; fi
