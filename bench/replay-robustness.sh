#!/usr/bin/env bash
# Robustness of `policy: inference` on fleets and workloads its defaults were not tuned on (docs/benchmarks.md,
# "Robustness"): for each workload, round-robin over a grid of loads finds the knee (the first grid point where its
# p90 TTFT more than doubles from the point before; the last point if none), then the five policies replay the
# knee, and one line per workload gives each policy's p90 TTFT and inference's ratios.
#
# Knobs: TRACES (../shared/traces), OUT (target/replay-robustness), SEED (1), ONLY (a workload name), SLUICE_JAR.
# Usage: bench/replay-robustness.sh   (from the repository root; builds sluice.jar if it is missing)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TRACES=${TRACES:-$ROOT/../shared/traces}
OUT=${OUT:-$ROOT/target/replay-robustness}
SEED=${SEED:-1}
ONLY=${ONLY:-}
JAR=${SLUICE_JAR:-$ROOT/sluice-cli/target/sluice.jar}
POLICIES=round-robin,least-connections,llm-d,sglang-cache-aware,inference

if [[ ! -f $JAR ]]; then
    (cd "$ROOT" && mvn -B -q -pl sluice-cli -am package -DskipTests)
fi
AZURE=$TRACES/azure-llm-2023/AzureLLMInferenceTrace_conv.csv
MOONCAKE=$TRACES/mooncake/conversation_trace.jsonl
SHAREGPT=$TRACES/length-distributions/sharegpt_8k_filtered_stats_llama2_tokenizer.csv
ARXIV=$TRACES/length-distributions/arxiv_summarization_stats_llama2_tokenizer_filtered_v2.csv
for f in "$AZURE" "$MOONCAKE" "$SHAREGPT" "$ARXIV"; do
    [[ -r $f ]] || { echo "missing trace $f (set TRACES)" >&2; exit 2; }
done
mkdir -p "$OUT"

# name | replay arguments before the load | load option | grid
WORKLOADS=(
    "azure-8xa100|--trace $AZURE --fleet 8xa100-80g-llama3-8b|--speedup|6 7 8 9 10 11"
    "mooncake-4xh100|--trace $MOONCAKE --fleet 4xh100-llama3-8b|--speedup|0.75 1 1.25 1.5 1.75 2"
    "sharegpt-64-prefixes|--lengths $SHAREGPT --prefix-groups 64 --prefix-tokens 1000 --prefix-share 0.5 --turns 3 --think-time 10s --duration 10m --fleet 8xa100-80g-llama3-8b|--rate|2 2.5 3 3.5 4 4.5 5"
    "arxiv-gamma|--lengths $ARXIV --arrival gamma --cv 3 --duration 10m --fleet 4xa100-80g-llama3-8b|--rate|0.5 1 1.5 2 2.5 3 3.5 4"
    "bursty-32-prefixes|--lengths $SHAREGPT --arrival gamma --cv 2 --prefix-groups 32 --prefix-tokens 3000 --prefix-share 0.8 --turns 5 --think-time 15s --duration 10m --fleet 8xh100-llama3-8b|--rate|2 3 4 5 6 7 8"
    "bursty-16-prefixes|--lengths $SHAREGPT --arrival gamma --cv 3 --prefix-groups 16 --prefix-tokens 2000 --prefix-share 0.9 --turns 4 --think-time 30s --duration 10m --fleet 4xa100-80g-llama3-8b|--rate|0.6 0.8 1 1.2 1.4 1.6"
    "bursty-8-long-prefixes|--lengths $SHAREGPT --arrival gamma --cv 1.5 --prefix-groups 8 --prefix-tokens 6000 --prefix-share 0.7 --turns 3 --think-time 10s --duration 10m --fleet 8xh100-llama3-8b|--rate|2 3 4 5 6 7"
    "sharegpt-16-prefixes-mixed|--lengths $SHAREGPT --prefix-groups 16 --prefix-tokens 2000 --prefix-share 0.9 --turns 4 --think-time 30s --duration 10m --fleet 2xh100-llama3-8b,2xa100-80g-llama3-8b|--rate|1 1.2 1.4 1.6 1.8 2 2.2 2.4"
    "mooncake-mixed|--trace $MOONCAKE --fleet 4xh100-llama3-8b,4xa100-80g-llama3-8b|--speedup|0.75 1 1.25 1.5 1.75 2 2.5"
)

p90() {   # report.json policy -> p90 TTFT in ms
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))
print(next(p["ttft_ms"]["p90"] for p in r["policies"] if p["name"]==sys.argv[2]))' "$1" "$2"
}

for w in "${WORKLOADS[@]}"; do
    IFS='|' read -r name args load grid <<<"$w"
    [[ -n $ONLY && $ONLY != "$name" ]] && continue
    prev=""; knee=""; last=""
    for x in $grid; do
        # shellcheck disable=SC2086
        java -jar "$JAR" replay $args "$load" "$x" --policies round-robin --seed "$SEED" --threads 1 \
            --out "$OUT/$name-knee-$x" >/dev/null 2>&1
        v=$(p90 "$OUT/$name-knee-$x/report.json" round-robin)
        if [[ -z $knee && -n $prev ]] && python3 -c "import sys; sys.exit(0 if $v > 2 * $prev else 1)"; then
            knee=$x
        fi
        prev=$v; last=$x
    done
    knee=${knee:-$last}
    # shellcheck disable=SC2086
    java -jar "$JAR" replay $args "$load" "$knee" --policies "$POLICIES" --seed "$SEED" --threads 2 \
        --out "$OUT/$name" >/dev/null 2>&1
    python3 - "$OUT/$name/report.json" "$name" "$load $knee" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
ps = {p["name"]: p for p in r["policies"]}
p90 = {n: p["ttft_ms"]["p90"] for n, p in ps.items()}
inf = ps["inference"]
best = min(p90["llm-d"], p90["sglang-cache-aware"])
fails = sum(inf.get("failures", {}).values())
most = max(p["completed"] for p in ps.values())
rps = inf["throughput_rps"] / max(p["throughput_rps"] for p in ps.values())
print(f"{sys.argv[2]:<24} {sys.argv[3]:<14} p90 inference {p90['inference']:7.0f}  llm-d {p90['llm-d']:7.0f}  "
      f"sglang {p90['sglang-cache-aware']:7.0f}  round-robin {p90['round-robin']:8.0f} ms | "
      f"/ better baseline {p90['inference'] / best:.2f}  / round-robin {p90['inference'] / p90['round-robin']:.2f} | "
      f"max/mean {inf['load_imbalance']:.2f}  429+503 {fails}  completed {inf['completed']:,} of the most {most:,}, "
      f"req/s {rps:.1%} of the best")
EOF
done
