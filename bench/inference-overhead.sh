#!/usr/bin/env bash
# What Sluice adds to time-to-first-token with long prompts (issue 7, acceptance 3), in one run on this machine.
#
# SIMS `sluice sim --profile instant` replicas (no compute time: a response starts as soon as the prompt is parsed,
# hashed into blocks and run through one engine iteration) in one process, and Sluice in front of them. The load
# client (io.sluice.bench.load.TtftLoad in sluice-bench/target/benchmarks.jar) streams chat completions with
# PROMPT_BYTES prompts (distinct; half of each is one of 8 shared system prompts) and measures TTFT to the first SSE
# data chunk. "direct" spreads its connections over the sims (connection i to sim i mod SIMS); "sluice" sends
# everything to Sluice, which balances with POLICY.
#
# Two loads, each with CONCURRENCY connections:
#   closed   every connection sends its next request as soon as the last one ended: the sims (and the machine)
#            saturate, TTFT is mostly queueing, and what Sluice costs shows as lower throughput, so longer queues.
#            Direct and Sluice run one after the other, the order alternating every round.
#   open     RATE requests/s, spread over the connections (0 skips it): TTFT without saturation, the latency of
#            the extra hop itself. With PAIRED=1 (the default) one client drives both arms at once (each with its own
#            connections and histograms, taking turns at the rate), so that direct and Sluice see the same
#            background load of this shared machine; PAIRED=0 runs them one after the other like closed.
#            (Closed loads are never paired: two saturating arms would compete for the sims, and Sluice's flow
#            control, which holds requests back from saturated servers, would hand the sims to the direct arm.)
# Each of ROUNDS rounds has its own warm-up; the difference is taken within each round, the median over rounds
# printed.
#
# Cores (PIN=1, the default, on >= 2 cores): Sluice runs on the last core with IO_THREADS event loops; the sims and
# the client share the others, so "direct" and "sluice" have the same cores for the sims and client and Sluice
# does not take CPU from them (in a deployment the router has its own cores). PIN=0 shares everything.
#
# Knobs: SIMS (4), CONCURRENCY (150), RATE (100), PAIRED (1), PROMPT_BYTES (225280), MAX_TOKENS (4), WARMUP (5s),
# DURATION (10s), ROUNDS (5), IO_THREADS (1), POLICY (auto: inference if this build has it, else least-connections),
# PIN (1), INFERENCE (the pool's inference settings as a YAML flow map, e.g. '{ saturation: { queue: 1000 } }'),
# SLUICE_JAR, BENCH_JAR, SLUICE_JAVA_OPTS, SIM_JAVA_OPTS, CLIENT_JAVA_OPTS, RESULTS (file for the markdown
# table), KEEP_TMP. Defaults take about 4 minutes.
#
# Usage: bench/inference-overhead.sh    (from the repository root; builds the jars if they are missing: delete
#        sluice-cli/target/*.jar and sluice-bench/target/*.jar after changing the code)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIMS=${SIMS:-4}
CONCURRENCY=${CONCURRENCY:-150}
RATE=${RATE:-100}
PROMPT_BYTES=${PROMPT_BYTES:-225280}
MAX_TOKENS=${MAX_TOKENS:-4}
WARMUP=${WARMUP:-5s}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-5}
IO_THREADS=${IO_THREADS:-1}
POLICY=${POLICY:-auto}
PIN=${PIN:-1}
PAIRED=${PAIRED:-1}
SLUICE_JAR=${SLUICE_JAR:-$ROOT/sluice-cli/target/sluice.jar}
BENCH_JAR=${BENCH_JAR:-$ROOT/sluice-bench/target/benchmarks.jar}
SLUICE_JAVA_OPTS=${SLUICE_JAVA_OPTS:-"-Xms512m -Xmx512m -XX:+UseParallelGC -Dio.netty.leakDetection.level=disabled"}
SIM_JAVA_OPTS=${SIM_JAVA_OPTS:-"-Xms1g -Xmx1g -XX:+UseParallelGC -Dio.netty.leakDetection.level=disabled"}
CLIENT_JAVA_OPTS=${CLIENT_JAVA_OPTS:-"-Xms512m -Xmx512m -XX:+UseParallelGC -Dio.netty.leakDetection.level=disabled"}
export SLUICE_TRANSPORT=${SLUICE_TRANSPORT:-epoll}

log() { echo "[overhead] $*" >&2; }

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_build "$SLUICE_JAR" "$BENCH_JAR"
bench_pin "$PIN" Sluice "sims and client"
bench_tmp overhead
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ---------------------------------------------------------------- sims
SIM_PORT=$(free_ports "$SIMS")
# shellcheck disable=SC2086
"${LOAD_PIN[@]}" java $SIM_JAVA_OPTS -jar "$SLUICE_JAR" sim --profile instant --replicas "$SIMS" --port "$SIM_PORT" \
    >"$TMP/sim.out" 2>&1 &
PIDS+=($!)
for ((i = 0; i < SIMS; i++)); do wait_port "$((SIM_PORT + i))" sim; done
DIRECT_URLS=""
ENDPOINTS=""
for ((i = 0; i < SIMS; i++)); do
    DIRECT_URLS+="${DIRECT_URLS:+,}http://127.0.0.1:$((SIM_PORT + i))/v1/chat/completions"
    ENDPOINTS+="      - { address: 127.0.0.1:$((SIM_PORT + i)), models: [ llama-3-8b ] }"$'\n'
done

# ---------------------------------------------------------------- Sluice
PROXY_PORT=$(free_port)
ADMIN_PORT=$(free_port)
write_config() {
    local policy=$1
    cat >"$TMP/sluice.yaml" <<EOF
io_threads: $IO_THREADS
access_log: { path: off }
admin: { address: 127.0.0.1:$ADMIN_PORT }
listeners:
  - name: llm
    address: 127.0.0.1:$PROXY_PORT
    routes: [ { match: { path_prefix: /v1/ }, pool: llm } ]
pools:
  - name: llm
    policy: $policy
$([[ -n ${INFERENCE:-} && $policy != least-connections ]] && echo "    inference: $INFERENCE")
    endpoints:
$ENDPOINTS
EOF
}
if [[ $POLICY == auto ]]; then
    write_config inference
    if java -jar "$SLUICE_JAR" validate -c "$TMP/sluice.yaml" >"$TMP/validate.out" 2>&1; then
        POLICY=inference
    else
        log "this build has no 'policy: inference' ($(head -1 "$TMP/validate.out")); using least-connections"
        POLICY=least-connections
    fi
fi
write_config "$POLICY"
java -jar "$SLUICE_JAR" validate -c "$TMP/sluice.yaml" >"$TMP/validate.out" 2>&1 \
    || { log "config rejected:"; cat "$TMP/validate.out" >&2; exit 2; }
# shellcheck disable=SC2086
"${PROXY_PIN[@]}" java $SLUICE_JAVA_OPTS -jar "$SLUICE_JAR" run -c "$TMP/sluice.yaml" >"$TMP/sluice.out" 2>&1 &
PIDS+=($!)
SLUICE_PID=$!
wait_port "$PROXY_PORT" sluice
wait_port "$ADMIN_PORT" sluice
CLK_TCK=$(getconf CLK_TCK)
# Responses Sluice has sent, and its CPU time in microseconds (user + system, all threads).
sluice_requests() {
    curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" | awk '/^sluice_requests_total/ {s += $NF} END {printf "%d", s}'
}
# CPU of Sluice's event loops only (threads sluice-io-*): the per-request cost, without the JIT compiler (which
# keeps compiling for minutes on a starved core), GC and the metrics scraper (a fixed cost per second).
# Sum and count of the time requests spent in Sluice's central queue (flow control), "sum count".
sluice_queue_wait() {
    curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" | awk '/^sluice_inference_queue_wait_seconds_sum/ {s += $NF}
        /^sluice_inference_queue_wait_seconds_count/ {c += $NF} END {printf "%f %d", s, c}'
}
sluice_cpu_us() {
    local t total=0
    for t in /proc/"$SLUICE_PID"/task/*; do
        [[ $(cat "$t/comm" 2>/dev/null) == sluice-io-* ]] || continue
        total=$((total + $(awk '{print $14 + $15}' "$t/stat")))
    done
    echo $((total * 1000000 / CLK_TCK))
}
SLUICE_URL="http://127.0.0.1:$PROXY_PORT/v1/chat/completions"

# ---------------------------------------------------------------- loads
# Runs the client; prints its RESULT lines (key=value pairs, TTFT in ms), one per arm. Arguments: label, URLs,
# rate, warm-up, window, and for a paired run the second arm's label and URLs.
load() {
    local label=$1 urls=$2 rate=$3 warmup=$4 duration=$5 label_b=${6:-} urls_b=${7:-} out
    local pair=()
    [[ -n $urls_b ]] && pair=(--label-b "$label_b" --url-b "$urls_b")
    # shellcheck disable=SC2086
    out=$("${LOAD_PIN[@]}" java $CLIENT_JAVA_OPTS -cp "$BENCH_JAR" io.sluice.bench.load.TtftLoad --label "$label" \
        --url "$urls" "${pair[@]}" --concurrency "$CONCURRENCY" --rate "$rate" --prompt-bytes "$PROMPT_BYTES" \
        --max-tokens "$MAX_TOKENS" --warmup "$warmup" --duration "$duration" 2>&1) || {
        log "$label: the client reported errors:"; grep -v SLF4J <<<"$out" >&2; }
    grep -v SLF4J <<<"$out" | grep -v '^RESULT' >>"$TMP/details.txt"
    grep '^RESULT' <<<"$out" || { log "no result from $label"; echo "$out" >&2; exit 1; }
}
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
url_of() { if [[ $1 == direct ]]; then echo "$DIRECT_URLS"; else echo "$SLUICE_URL"; fi; }

log "$SIMS instant sims on ports $SIM_PORT.., Sluice (policy $POLICY, io_threads $IO_THREADS) on $PROXY_PORT; $CORES_NOTE"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "load before: $LOAD_BEFORE"
log "warming up (JIT of sims, Sluice and client)"
load warm-sluice "$SLUICE_URL" 0 2s 8s >/dev/null
load warm-direct "$DIRECT_URLS" 0 2s 4s >/dev/null

MODES=(closed)
[[ $RATE != 0 ]] && MODES+=(open)
declare -a ROWS
for ((r = 1; r <= ROUNDS; r++)); do
    for mode in "${MODES[@]}"; do
        rate=0; [[ $mode == open ]] && rate=$RATE
        # The first arm alternates between rounds (it gets the first turn at the servers).
        if ((r % 2)); then order=(direct sluice); else order=(sluice direct); fi
        declare -A RES=()
        req0=$(sluice_requests); cpu0=$(sluice_cpu_us); read -r qs0 qc0 <<<"$(sluice_queue_wait)"
        if [[ $mode == open && $PAIRED == 1 ]]; then
            out=$(load "${order[0]}" "$(url_of "${order[0]}")" "$rate" "$WARMUP" "$DURATION" \
                "${order[1]}" "$(url_of "${order[1]}")")
            for target in direct sluice; do
                RES[$target]=$(grep "label=$target " <<<"$out")
            done
        else
            for target in "${order[@]}"; do
                RES[$target]=$(load "$target" "$(url_of "$target")" "$rate" "$WARMUP" "$DURATION")
            done
        fi
        # Sluice's event-loop CPU per request over the whole run (warm-up included): what the proxy costs,
        # whatever the scheduling noise of a shared machine does to latency.
        req1=$(sluice_requests); cpu1=$(sluice_cpu_us)
        n=$((req1 - req0)); ((n > 0)) || n=1
        cpu_per_req=$(((cpu1 - cpu0) / n))
        for target in direct sluice; do log "round $r $mode $target: $(cut -d' ' -f3- <<<"${RES[$target]}")"; done
        read -r qs1 qc1 <<<"$(sluice_queue_wait)"
        queued=$((qc1 - qc0))
        log "round $r $mode: Sluice event-loop CPU ${cpu_per_req} us per request; $queued requests timed in" \
            "the central queue (flow control), mean wait $(awk -v s="$(echo "$qs1 - $qs0" | bc -l)" -v n="$queued" \
            'BEGIN {printf "%.1f", (n > 0 ? 1000 * s / n : 0)}') ms"
        ROWS+=("$mode $r ${RES[direct]// /;} ${RES[sluice]// /;} $cpu_per_req")
    done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
log "load after: $LOAD_AFTER"

# ---------------------------------------------------------------- report
{
    echo "| load | round | direct p50 ms | direct p99 ms | direct req/s | Sluice p50 ms | Sluice p99 ms | Sluice req/s | added p50 ms | added p99 ms | Sluice loop CPU µs/req |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    for row in "${ROWS[@]}"; do
        read -r mode r d s cpr <<<"$row"
        d=${d//;/ }; s=${s//;/ }
        dp50=$(field " $d" p50); dp99=$(field " $d" p99); drps=$(field " $d" rps)
        sp50=$(field " $s" p50); sp99=$(field " $s" p99); srps=$(field " $s" rps)
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %+.2f | %+.2f | %s |\n' "$mode" "$r" "$dp50" "$dp99" \
            "$drps" "$sp50" "$sp99" "$srps" "$(echo "$sp50 - $dp50" | bc -l)" "$(echo "$sp99 - $dp99" | bc -l)" "$cpr"
        echo "$mode $(echo "$sp50 - $dp50" | bc -l) $(echo "$sp99 - $dp99" | bc -l)" >>"$TMP/deltas"
    done
} >"$TMP/table.md"
median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
{
    echo
    echo "Median over $ROUNDS rounds of the same-round difference (Sluice minus direct):"
    for mode in "${MODES[@]}"; do
        m50=$(awk -v m="$mode" '$1 == m {print $2}' "$TMP/deltas" | median)
        m99=$(awk -v m="$mode" '$1 == m {print $3}' "$TMP/deltas" | median)
        printf -- '- %s: TTFT p50 %+.2f ms, p99 %+.2f ms\n' "$mode" "$m50" "$m99"
    done
    echo
    echo "Setup: $SIMS x sluice sim --profile instant; Sluice policy $POLICY, io_threads $IO_THREADS; $CORES_NOTE;"
    echo "concurrency $CONCURRENCY, open-loop rate $RATE req/s, prompt $PROMPT_BYTES B, max_tokens $MAX_TOKENS,"
    echo "warm-up $WARMUP + window $DURATION per run; closed: direct and Sluice one after the other; open:" \
        "$([[ $PAIRED == 1 ]] && echo "paired" || echo "one after the other"); load average $LOAD_BEFORE before," \
        "$LOAD_AFTER after."
} >>"$TMP/table.md"
cat "$TMP/table.md"
if [[ -n ${RESULTS:-} ]]; then cp "$TMP/table.md" "$RESULTS"; log "table written to $RESULTS"; fi
if [[ ${SHOW_DETAILS:-0} == 1 ]]; then cat "$TMP/details.txt"; fi
