#!/usr/bin/env bash
# Measures Sluice's resident memory with many idle keep-alive client connections (issue 3, acceptance 5).
#
# Starts an NGINX backend and Sluice (io_threads IO_THREADS, the recommended JAVA_OPTS) on 127.0.0.1, warms Sluice
# up, reads its RSS (VmRSS in /proc/<pid>/status), then opens CONNECTIONS client connections (from several 127.0.0.x
# source addresses, so ephemeral ports never run short), sends one keep-alive request on each and reads the answer,
# leaves them all open and idle for HOLD seconds, checks that every connection is still open, and reads the RSS
# again. Prints both, the difference per connection, and whether the RSS stayed under LIMIT_MB. Exits 1 if not.
#
# Knobs: CONNECTIONS (10000), HOLD (10s), LIMIT_MB (256), IO_THREADS (1), SLUICE_JAR, SLUICE_JAVA_OPTS,
# COMPARE (1: also measures HAProxy and NGINX the same way, for reference), KEEP_TMP.
#
# Usage: bench/idle-connections.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CONNECTIONS=${CONNECTIONS:-10000}
HOLD=${HOLD:-10}
LIMIT_MB=${LIMIT_MB:-256}
IO_THREADS=${IO_THREADS:-1}
COMPARE=${COMPARE:-1}
SLUICE_JAR=${SLUICE_JAR:-$ROOT/sluice-cli/target/sluice.jar}
SLUICE_JAVA_OPTS=${SLUICE_JAVA_OPTS:-"-Xms128m -Xmx128m -XX:+UseParallelGC -Dio.netty.leakDetection.level=disabled -Dio.netty.buffer.checkAccessible=false -Dio.netty.buffer.checkBounds=false"}
export SLUICE_TRANSPORT=${SLUICE_TRANSPORT:-epoll}

log() { echo "[idle] $*" >&2; }

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_install nginx:nginx-light python3:python3
if [[ $COMPARE == 1 ]]; then bench_install haproxy:haproxy; fi
bench_build "$SLUICE_JAR"

# Each side of every connection is a file descriptor: the client here and the proxy each need CONNECTIONS + some.
want=$((CONNECTIONS + 1000))
ulimit -Sn "$(ulimit -Hn)"
if (($(ulimit -Sn) < want)); then
    log "cannot raise the open-file limit to $want (hard limit $(ulimit -Hn)); run as root or lower CONNECTIONS"
    exit 1
fi

bench_tmp idle
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# The RSS of a process and its children (NGINX's workers), in kB.
tree_rss_kb() {
    local total=0 p
    for p in $1 $(pgrep -P "$1" || true); do total=$((total + $(rss_kb "$p"))); done
    echo "$total"
}

# The client: opens the connections, one request each, and keeps them until stdin closes.
cat >"$TMP/clients.py" <<'EOF'
import socket, sys, time
port, count, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
req = ("GET %s HTTP/1.1\r\nHost: bench\r\n\r\n" % path).encode()
socks, failed = [], 0
deadline = time.monotonic() + 120
for i in range(count):
    if time.monotonic() > deadline:
        break
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # 127.0.0.2 .. 127.0.0.21: 20 source addresses, so 10,000+ connections never exhaust ephemeral ports.
    s.bind(("127.0.0.%d" % (2 + i % 20), 0))
    s.settimeout(10)
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(req)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                raise OSError("closed before the response head")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = s.recv(4096)
            if not chunk:
                raise OSError("closed during the body")
            body += chunk
        if not head.startswith(b"HTTP/1.1 200"):
            raise OSError(head.split(b"\r\n")[0].decode())
        socks.append(s)
    except OSError as e:
        failed += 1
        if failed <= 3:
            print("connection %d failed: %s" % (i, e), file=sys.stderr)
        s.close()
print("open %d failed %d" % (len(socks), failed), flush=True)
sys.stdin.readline()
# Every connection must still be open (no answer, no close): a read must time out, not return b"".
alive = 0
for s in socks:
    s.setblocking(False)
    try:
        if s.recv(1) != b"":
            pass
    except BlockingIOError:
        alive += 1
    except OSError:
        pass
print("alive %d" % alive, flush=True)
EOF

# ---------------------------------------------------------------- backend
BACKEND=$(free_port)
mkdir -p "$TMP/www" "$TMP/backend"
head -c 100 /dev/zero | tr '\0' 'x' >"$TMP/www/100"
cat >"$TMP/backend/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $TMP/backend/nginx.pid;
error_log $TMP/backend/error.log warn;
events { worker_connections 4096; }
http {
    access_log off; keepalive_timeout 300s; keepalive_requests 10000000;
    client_body_temp_path $TMP/backend/body; proxy_temp_path $TMP/backend/proxy;
    fastcgi_temp_path $TMP/backend/fastcgi; uwsgi_temp_path $TMP/backend/uwsgi; scgi_temp_path $TMP/backend/scgi;
    server { listen 127.0.0.1:$BACKEND; root $TMP/www; }
}
EOF
nginx -p "$TMP/backend" -c "$TMP/backend/nginx.conf" >"$TMP/backend.out" 2>&1 &
PIDS+=($!)
wait_port "$BACKEND" backend

# Opens the connections against a proxy; prints "rss_before_kb rss_after_kb open alive".
measure() {
    local name=$1 port=$2 pid=$3 rss=$4 count=${5:-$CONNECTIONS} before after opened alive failed
    # A short keep-alive load first, so the JIT and the buffer pools are in their steady state.
    python3 - "$port" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for _ in range(2000):
    s.sendall(b"GET /100 HTTP/1.1\r\nHost: bench\r\n\r\n")
    data = b""
    while not data.endswith(b"x" * 100):
        data += s.recv(4096)
s.close()
EOF
    sleep 1
    before=$($rss "$pid")
    coproc CLIENTS { python3 "$TMP/clients.py" "$port" "$count" /100 2>"$TMP/$name.clients.err"; }
    read -r -u "${CLIENTS[0]}" _ opened _ failed
    ((failed == 0)) || log "$name: $failed connections failed: $(head -3 "$TMP/$name.clients.err")"
    sleep "$HOLD"
    after=$($rss "$pid")
    echo >&"${CLIENTS[1]}"
    read -r -u "${CLIENTS[0]}" _ alive
    wait "$CLIENTS_PID" 2>/dev/null || true
    echo "$before $after $opened $alive"
}

declare -A RESULT
# ---------------------------------------------------------------- Sluice
PORT=$(free_port)
cat >"$TMP/sluice.yaml" <<EOF
io_threads: $IO_THREADS
access_log: { path: off }
admin: { enabled: false }
listeners:
  - name: web
    address: 127.0.0.1:$PORT
    timeouts: { idle: 300s }
    routes: [ { match: { path_prefix: / }, pool: web } ]
pools:
  - name: web
    endpoints: [ { address: 127.0.0.1:$BACKEND } ]
EOF
# shellcheck disable=SC2086
java $SLUICE_JAVA_OPTS -jar "$SLUICE_JAR" run -c "$TMP/sluice.yaml" >"$TMP/sluice.out" 2>&1 &
PIDS+=($!)
SLUICE_PID=$!
wait_port "$PORT" sluice
RESULT[sluice]=$(measure sluice "$PORT" "$SLUICE_PID" rss_kb)
kill -TERM "$SLUICE_PID"

if [[ $COMPARE == 1 ]]; then
    # HAProxy reserves two descriptors per connection: under a hard limit of 20,000 it takes a little under 10,000.
    HARD=$(ulimit -Hn)
    HAPROXY_MAXCONN=$(((HARD - 200) / 2 < CONNECTIONS + 100 ? (HARD - 200) / 2 : CONNECTIONS + 100))
    PORT=$(free_port)
    cat >"$TMP/haproxy.cfg" <<EOF
global
    nbthread $IO_THREADS
    maxconn $HAPROXY_MAXCONN
defaults
    mode http
    timeout connect 1s
    timeout client 300s
    timeout server 30s
    timeout http-keep-alive 300s
    option http-keep-alive
    option forwardfor
    http-reuse always
frontend web
    bind 127.0.0.1:$PORT
    default_backend web
backend web
    server b1 127.0.0.1:$BACKEND
EOF
    haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.out" 2>&1 &
    PIDS+=($!)
    wait_port "$PORT" haproxy
    HAPROXY_CONNECTIONS=$((HAPROXY_MAXCONN - 100 < CONNECTIONS ? HAPROXY_MAXCONN - 100 : CONNECTIONS))
    RESULT[haproxy]=$(measure haproxy "$PORT" "${PIDS[-1]}" rss_kb "$HAPROXY_CONNECTIONS")
    kill -TERM "${PIDS[-1]}"

    PORT=$(free_port)
    mkdir -p "$TMP/nginx"
    cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes $IO_THREADS;
worker_rlimit_nofile $(ulimit -Hn);
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections $((CONNECTIONS * 2)); }
http {
    access_log off; keepalive_timeout 300s; keepalive_requests 10000000;
    client_body_temp_path $TMP/nginx/body; proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi; uwsgi_temp_path $TMP/nginx/uwsgi; scgi_temp_path $TMP/nginx/scgi;
    upstream web { server 127.0.0.1:$BACKEND; keepalive 64; }
    server {
        listen 127.0.0.1:$PORT;
        location / { proxy_pass http://web; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
}
EOF
    nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" >"$TMP/nginx.out" 2>&1 &
    PIDS+=($!)
    wait_port "$PORT" nginx
    RESULT[nginx]=$(measure nginx "$PORT" "${PIDS[-1]}" tree_rss_kb)
    kill -TERM "${PIDS[-1]}"
fi

echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cpus, io_threads/nbthread/worker_processes $IO_THREADS," \
    "$CONNECTIONS connections (one request each, then idle ${HOLD}s); Sluice: java $SLUICE_JAVA_OPTS"
echo
echo "| proxy | RSS before | RSS with the connections open | per connection | connections open / still open after ${HOLD}s |"
echo "|---|---|---|---|---|"
ok=1
for p in sluice haproxy nginx; do
    [[ -n ${RESULT[$p]:-} ]] || continue
    read -r before after opened alive <<<"${RESULT[$p]}"
    awk -v p="$p" -v b="$before" -v a="$after" -v o="$opened" -v l="$alive" 'BEGIN {
        printf "| %s | %.1f MB | %.1f MB | %.1f KB | %d / %d |\n", p, b / 1024, a / 1024, (a - b) / (o > 0 ? o : 1), o, l }'
    if [[ $p == sluice ]]; then
        if ((after > LIMIT_MB * 1024 || opened < CONNECTIONS || alive < opened)); then ok=0; fi
    fi
done
echo
read -r _ after opened alive <<<"${RESULT[sluice]}"
if ((ok)); then
    echo "Sluice: $opened idle connections, RSS $((after / 1024)) MB < $LIMIT_MB MB: PASS"
else
    echo "Sluice: $opened/$CONNECTIONS connections ($alive still open), RSS $((after / 1024)) MB (limit $LIMIT_MB MB): FAIL"
    exit 1
fi
