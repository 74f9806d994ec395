# Shared by the bench/ scripts: sourced after ROOT is set and log() is defined. Installs tools, builds the jar,
# pins cores, owns the scratch directory and the started processes, and picks free loopback ports.

# bench_install COMMAND:PACKAGE ...  installs, with apt-get, the packages whose command is missing
bench_install() {
    local need=() pair sudo=
    for pair in "$@"; do command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}"); done
    ((${#need[@]})) || return 0
    log "installing ${need[*]}"
    if [[ $(id -u) -ne 0 ]]; then sudo=sudo; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
}

# bench_build JAR...  builds the project (mvn package, no tests) unless every JAR is there
bench_build() {
    local jar missing=0
    for jar in "$@"; do [[ -f $jar ]] || missing=1; done
    ((missing)) || return 0
    log "building $*"
    # Stale shaded jars would keep their classes over fresh ones: remove them first.
    rm -f "$ROOT"/sluice-cli/target/*.jar "$ROOT"/sluice-bench/target/*.jar
    (cd "$ROOT" && mvn -B -q package -DskipTests)
}

# bench_pin PIN PROXY_NAME LOAD_NAME  sets PROXY_PIN and LOAD_PIN (taskset prefixes) and CORES_NOTE: with PIN=1 on
# two or more cores the proxy gets the last core and the load generator and backends the others
bench_pin() {
    NCPU=$(nproc)
    if [[ $1 == 1 && $NCPU -ge 2 ]]; then
        PROXY_PIN=(taskset -c "$((NCPU - 1))")
        LOAD_PIN=(taskset -c "$( ((NCPU > 2)) && echo "0-$((NCPU - 2))" || echo 0)")
        CORES_NOTE="$2 on cpu $((NCPU - 1)); $3 on the others"
    else
        PROXY_PIN=()
        LOAD_PIN=()
        CORES_NOTE="nothing pinned ($NCPU cpus shared)"
    fi
}

# bench_tmp NAME  makes TMP (/tmp/sluice-NAME.*); processes appended to PIDS are stopped, and TMP removed unless
# KEEP_TMP=1, when the script ends
bench_tmp() {
    TMP=$(mktemp -d "/tmp/sluice-$1.XXXXXX")
    chmod 755 "$TMP"
    PIDS=()
    trap cleanup EXIT
    trap 'exit 130' INT TERM
}

cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    if [[ ${KEEP_TMP:-0} == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}

USED=" "
LOW=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)

# free_ports N  prints the first of N consecutive free loopback ports below the ephemeral range (never one handed
# out before in this run)
free_ports() {
    local n=$1 p i ok
    for _ in $(seq 1 200); do
        p=$((10000 + RANDOM % (LOW - 10000 - 300)))
        ok=1
        for ((i = 0; i < n; i++)); do
            if [[ $USED == *" $((p + i)) "* ]] || ss -Htan "sport = :$((p + i))" | grep -q .; then ok=0; break; fi
        done
        if ((ok)); then
            for ((i = 0; i < n; i++)); do USED+="$((p + i)) "; done
            echo "$p"
            return 0
        fi
    done
    return 1
}

free_port() {
    free_ports 1
}

# wait_port PORT NAME  waits (at most 30 s) until the last started process (NAME, its output in $TMP/NAME.out)
# accepts on PORT; exits the script if it died or never listened
wait_port() {
    local port=$1 name=$2 pid=${PIDS[-1]}
    for _ in $(seq 1 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || { log "$name exited"; cat "$TMP/$name.out" >&2 || true; exit 1; }
        sleep 0.1
    done
    log "$name did not open port $port"
    exit 1
}
