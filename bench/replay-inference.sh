#!/usr/bin/env bash
# Routing quality in replay (issue 7, acceptance 4): the five policies on three workloads at the knee of the fleet.
#
# 1. Knee: round-robin alone over a grid of loads; the knee is the first grid point where round-robin's p90 TTFT
#    more than doubles from the point before (its queues start to explode).
# 2. At the knee (and the grid point either side when KNEES_ONLY=0): round-robin, least-connections, llm-d,
#    sglang-cache-aware and inference, each replayed on its own copy of the fleet (same seed), report.json per run.
# 3. A markdown table per run with p50/p90/p99 TTFT, throughput, max/mean load, central-queue and 429 counts, and
#    inference's p90 over the better of llm-d and sglang-cache-aware and over round-robin.
#
# Workloads (all in virtual time; each run takes seconds to a minute of wall time on 2 shared cores):
#   mooncake   Mooncake conversation trace (12,031 requests, 1 h), 8 x h100-llama3-8b
#   azure      Azure LLM 2023 conv trace (19,366 requests, 1 h), 4 x a100-80g-llama3-8b
#   generated  ShareGPT lengths, 16 system prompts of 2,000 tokens on 90 % of conversations, 4 turns 30 s apart,
#              10 minutes of new conversations, 4 x a100-80g-llama3-8b (--rate = conversations started per second)
#
# Knobs: TRACES (../shared/traces), OUT (target/replay-inference), SEED (1), KNEES_ONLY (1), SLUICE_JAR.
# Usage: bench/replay-inference.sh   (from the repository root; builds sluice.jar if it is missing)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TRACES=${TRACES:-$ROOT/../shared/traces}
OUT=${OUT:-$ROOT/target/replay-inference}
SEED=${SEED:-1}
KNEES_ONLY=${KNEES_ONLY:-1}
JAR=${SLUICE_JAR:-$ROOT/sluice-cli/target/sluice.jar}
POLICIES=round-robin,least-connections,llm-d,sglang-cache-aware,inference

if [[ ! -f $JAR ]]; then
    (cd "$ROOT" && mvn -B -q -pl sluice-cli -am package -DskipTests)
fi
MOONCAKE=$TRACES/mooncake/conversation_trace.jsonl
AZURE=$TRACES/azure-llm-2023/AzureLLMInferenceTrace_conv.csv
SHAREGPT=$TRACES/length-distributions/sharegpt_8k_filtered_stats_llama2_tokenizer.csv
for f in "$MOONCAKE" "$AZURE" "$SHAREGPT"; do
    [[ -r $f ]] || { echo "missing trace $f (set TRACES)" >&2; exit 2; }
done
mkdir -p "$OUT"

# workload name -> sluice replay arguments before the load option
args() {
    case $1 in
        mooncake) echo "--trace $MOONCAKE --fleet 8xh100-llama3-8b" ;;
        azure) echo "--trace $AZURE --fleet 4xa100-80g-llama3-8b" ;;
        generated) echo "--lengths $SHAREGPT --prefix-groups 16 --prefix-tokens 2000 --prefix-share 0.9 --turns 4" \
            "--think-time 30s --duration 10m --fleet 4xa100-80g-llama3-8b" ;;
    esac
}
load_option() { [[ $1 == generated ]] && echo --rate || echo --speedup; }
grid() {
    case $1 in
        mooncake) echo "1 1.5 2 2.5 3 3.5" ;;
        azure) echo "2 3 3.5 4 4.25 4.5 5" ;;
        generated) echo "0.8 1 1.2 1.3 1.4 1.5 1.6" ;;
    esac
}

replay() {   # workload load policies outdir
    # shellcheck disable=SC2046
    java -jar "$JAR" replay $(args "$1") "$(load_option "$1")" "$2" --policies "$3" --seed "$SEED" --threads 2 \
        --out "$4" 2>/dev/null >"$4.txt"
}

p90() {   # report.json policy -> p90 TTFT in ms
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))
print(next(p["ttft_ms"]["p90"] for p in r["policies"] if p["name"]==sys.argv[2]))' "$1" "$2"
}

for w in mooncake azure generated; do
    echo "== $w: round-robin over $(load_option $w) $(grid $w)"
    prev=""; knee=""; loads=()
    for x in $(grid $w); do
        replay $w "$x" round-robin "$OUT/knee-$w-$x"
        v=$(p90 "$OUT/knee-$w-$x/report.json" round-robin)
        printf '  %s %s: round-robin p90 TTFT %.0f ms\n' "$(load_option $w)" "$x" "$v"
        if [[ -z $knee && -n $prev ]] && python3 -c "import sys; sys.exit(0 if $v > 2 * $prev else 1)"; then
            knee=$x
        fi
        [[ -z $knee ]] && before=$x
        prev=$v; loads+=("$x")
    done
    knee=${knee:-${loads[-1]}}
    echo "  knee: $knee"
    runs=("$knee")
    if [[ $KNEES_ONLY == 0 ]]; then
        runs=("$before" "$knee")
    fi
    for x in "${runs[@]}"; do
        replay $w "$x" $POLICIES "$OUT/$w-$x"
        python3 - "$OUT/$w-$x/report.json" "$w" "$(load_option $w) $x" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
ps = {p["name"]: p for p in r["policies"]}
print(f"\n### {sys.argv[2]}, {r['fleet']}, {sys.argv[3]} ({r['requests']:,} requests)\n")
print("| policy | TTFT p50 | p90 | p99 | req/s | load max/mean | prefix hit | queued | 429 / 503 / shed |")
print("|---|---|---|---|---|---|---|---|---|")
def t(ms):
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"
for name, p in ps.items():
    f = p.get("failures", {})
    c429 = f.get("queue_timeout_429", 0) + f.get("sheddable_429", 0)
    c503 = f.get("queue_full_503", 0) + f.get("displaced_503", 0)
    bold = "**" if name == "inference" else ""
    print(f"| {bold}{name}{bold} | {t(p['ttft_ms']['p50'])} | {bold}{t(p['ttft_ms']['p90'])}{bold} | "
          f"{t(p['ttft_ms']['p99'])} | {p['throughput_rps']:.2f} | {p['load_imbalance']:.2f} | "
          f"{p['prefix_hit_ratio'] * 100:.1f} % | {p.get('queued', 0):,} | {c429:,} / {c503:,} / {p['shed']:,} |")
inf = ps["inference"]["ttft_ms"]["p90"]
best = min(ps["llm-d"]["ttft_ms"]["p90"], ps["sglang-cache-aware"]["ttft_ms"]["p90"])
rr = ps["round-robin"]["ttft_ms"]["p90"]
tput = ps["inference"]["throughput_rps"] >= max(p["throughput_rps"] for p in ps.values()) - 0.005
print(f"\ninference p90 / better of llm-d and sglang-cache-aware: **{inf / best:.2f}** (goal <= 0.8); "
      f"/ round-robin: **{inf / rr:.2f}** (goal <= 0.3);\nthroughput not below any policy: {'yes' if tput else 'no'}; "
      f"max/mean load {ps['inference']['load_imbalance']:.2f} (goal <= 1.5)")
EOF
    done
done
